"""Vietnamese word segmentation (underthesea) with offsets into the original message.

underthesea's `word_tokenize` rewrites what it is given (NFC, tone placement), so its
words cannot be looked up verbatim in the citizen's text. We segment the normalised
syllables and align underthesea's output back to them by their folded form; every
segment then takes the original span of the syllables it covers.
"""
from __future__ import annotations

from dataclasses import dataclass

from assistant.text.normalize import NormWord, fold

try:
    from underthesea import word_tokenize as _word_tokenize
except ImportError:  # pragma: no cover
    _word_tokenize = None


@dataclass(frozen=True)
class Segment:
    text: str  # syllables joined by "_" ("tạm_trú")
    start: int  # span in the original message
    end: int

    @property
    def folded(self) -> str:
        return fold(self.text)


def segment(words: list[NormWord]) -> list[Segment]:
    """Group syllables into words; numbers and codes stay single segments."""
    segments: list[Segment] = []
    run: list[NormWord] = []
    for word in words:
        if word.text.isalpha():
            run.append(word)
            continue
        segments.extend(_segment_run(run))
        run = []
        segments.append(Segment(word.text, word.start, word.end))
    segments.extend(_segment_run(run))
    return segments


def _segment_run(run: list[NormWord]) -> list[Segment]:
    if not run:
        return []
    groups = _underthesea_groups(run) if _word_tokenize is not None else None
    if groups is None:
        groups = [[w] for w in run]
    return [
        Segment("_".join(w.text for w in group), group[0].start, max(w.end for w in group))
        for group in groups
    ]


def _underthesea_groups(run: list[NormWord]) -> list[list[NormWord]] | None:
    """Align underthesea's words to our syllables; None if they cannot be aligned."""
    pieces = _word_tokenize(" ".join(w.text for w in run))
    groups: list[list[NormWord]] = []
    position = 0
    for piece in pieces:
        syllables = piece.split()
        group = run[position : position + len(syllables)]
        if len(group) != len(syllables) or any(
            fold(s) != w.folded for s, w in zip(syllables, group)
        ):
            return None
        groups.append(group)
        position += len(syllables)
    return groups if position == len(run) else None
