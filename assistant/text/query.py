"""Turns what a citizen typed into the text the search embeds and matches: abbreviations
expanded ("cccd" -> "căn cước công dân", and a few more that only the search needs:
"tv" -> "tạm vắng", "25t" -> "25 tuổi"), common misspellings repaired ("đăng kí" ->
"đăng ký", "thường chú" -> "thường trú", "căn cươc" -> "căn cước") and, when it was typed
without diacritics, tone marks restored, because the embedding model reads unaccented
Vietnamese poorly.

Everything is learned from, or checked against, the project's own accented text (the
knowledge base and the NLU examples, through the diacritic restorer's n-gram table): a
repair is made only when the repaired syllable pair is one that text uses and the typed
pair is not.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable

from assistant.text.normalize import NormWord, fold, has_diacritics, is_mostly_unaccented, normalize_words
from assistant.text.restore import DiacriticRestorer

# Abbreviations seen in citizens' messages that only the search expands (the NLU's shared
# list, normalize.ABBREVIATIONS, is applied first). Keys are lower-case, as typed (with
# "đ" where it tells two readings apart); only words without tone marks are expanded.
SEARCH_ABBREVIATIONS: dict[str, str] = {
    "tv": "tạm vắng",
    "hk": "hộ khẩu",
    "gks": "giấy khai sinh",
    "xn": "xác nhận",
    "lt": "liên thông",
    "tb": "thông báo",
    "onl": "online",
    "nvqs": "nghĩa vụ quân sự",
    "ck": "chồng",
    "bme": "bố mẹ",
    "hđ": "hợp đồng",     # typed with "đ"; plain "hd" is also "hướng dẫn"
    "gđ": "gia đình",     # plain "gd" is also "giáo dục"
    "nđ": "nghị định",    # plain "nd" is also "nội dung"
    "lm": "làm",
    "dvc": "dịch vụ công",
    "csdl": "cơ sở dữ liệu",
    "gcn": "giấy chứng nhận",
    "bhxh": "bảo hiểm xã hội",
    "kt3": "tạm trú",
    "gplx": "giấy phép lái xe",
    "blx": "bằng lái xe",
    "tp": "thành phố",
    "mn": "mọi người",
    "nx": "nữa",
    "z": "vậy",
    "v": "vậy",
}
# "25t" -> "25 tuổi", "t7" -> "thứ 7", "cn" (Sunday) is left alone (also "công nhân").
_AGE = re.compile(r"^(\d{1,3})t$")
_WEEKDAY = re.compile(r"^t([2-7])$")

# "CA xã" -> "công an xã" (only before an administrative unit: "ca" is also "cả", "cá")
_UNITS = frozenset({"xa", "phuong", "huyen", "tinh", "quan", "thi"})

# Sound-alike spellings (folded syllable onsets / endings) tried when a syllable pair is
# unknown: "chú" for "trú", "kí" for "ký", "sác nhận" for "xác nhận", "dấy tờ" for "giấy tờ".
_ONSET_SWAPS = (("ch", "tr"), ("s", "x"), ("d", "gi"))
_MIN_PAIR_COUNT = 3

# Tone marks (combining, after NFD) and the stop endings after which only sắc or nặng occur.
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_STOP_TONES = ("\u0301", "\u0323")
_STOP_ENDINGS = ("c", "ch", "p", "t")


def split_tone(syllable: str) -> tuple[str, str]:
    """("cước" -> ("cươc", sắc)): the syllable without its tone mark, and the mark ("" if none)."""
    decomposed = unicodedata.normalize("NFD", syllable)
    tone = next((ch for ch in decomposed if ch in _TONES), "")
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONES)), tone


def _variants(folded: str) -> list[str]:
    out = []
    if len(folded) >= 2 and folded.endswith("i") and folded[-2] not in "aeiouy":
        out.append(folded[:-1] + "y")          # kí -> ký, lí -> lý
    for typed, meant in _ONSET_SWAPS:
        rest = folded[len(typed):]
        if folded.startswith(typed) and rest and (rest[0] in "aeiouy" or typed == "gi"):
            out.append(meant + rest)
    return [v for v in dict.fromkeys(out) if v != folded]


def expand_abbreviations(words: list[NormWord]) -> list[NormWord]:
    """The search's own abbreviations, on top of the shared ones (normalize.ABBREVIATIONS)."""
    out: list[NormWord] = []
    for i, w in enumerate(words):
        if w.text == "ca" and i + 1 < len(words) and fold(words[i + 1].text) in _UNITS:
            out.extend(NormWord(part, w.start, w.end, expanded=True) for part in ("công", "an"))
            continue
        key = w.text if not w.expanded else None
        expansion = None
        if key is not None and fold(key) == key.replace("đ", "d"):
            expansion = SEARCH_ABBREVIATIONS.get(key)
            if expansion is None and (m := _AGE.match(key)):
                expansion = f"{m.group(1)} tuổi"
            elif expansion is None and (m := _WEEKDAY.match(key)):
                expansion = f"thứ {m.group(1)}"
        if expansion:
            out.extend(NormWord(part, w.start, w.end, expanded=True) for part in expansion.split())
        else:
            out.append(w)
    return out


@dataclass(frozen=True)
class QueryPreparer:
    restorer: DiacriticRestorer
    # (syllable without tone, tone) -> the most frequent accented form seen (to repair
    # "cuả" -> "của", "cươc" -> "cước"); and every form seen
    by_tone: dict[tuple[str, str], str] = field(default_factory=dict)
    known_forms: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def fit(cls, accented_texts: Iterable[str]) -> "QueryPreparer":
        restorer = DiacriticRestorer.fit(accented_texts)
        counts: dict[tuple[str, str], tuple[int, str]] = {}
        for key, forms in restorer.table.items():
            if " " in key:
                continue
            for form, n in forms.items():
                k = split_tone(form)
                if n > counts.get(k, (0, ""))[0]:
                    counts[k] = (n, form)
        return cls(restorer, {k: form for k, (n, form) in counts.items()},
                   frozenset(form for _, form in counts.values()) | frozenset(
                       form for key, forms in restorer.table.items() if " " not in key for form in forms))

    def prepare(self, text: str) -> str:
        words = expand_abbreviations(normalize_words(text))
        words = self.repair(words)
        if is_mostly_unaccented(words):
            words = self.restorer.restore(words)
        return " ".join(w.text for w in words)

    def _retone(self, syllable: str) -> str:
        """A tone mark on the wrong vowel ("cuả" -> "của"), or a tone a stop ending cannot
        take ("cươc" -> "cước"); unchanged when the text has no such form."""
        base, tone = split_tone(syllable)
        if (base, tone) in self.by_tone:
            return self.by_tone[(base, tone)]
        if base.endswith(_STOP_ENDINGS) and tone not in _STOP_TONES:
            forms = [self.by_tone[(base, t)] for t in _STOP_TONES if (base, t) in self.by_tone]
            if len(forms) == 1:
                return forms[0]
        return syllable

    def _pair_count(self, a: str, b: str) -> int:
        return sum(self.restorer.table.get(f"{a} {b}", {}).values())

    def repair(self, words: list[NormWord]) -> list[NormWord]:
        """Misspelt syllables: an accented form never seen -> its usual accented form
        ("cươc" -> "cước"); a sound-alike that turns an unknown pair into a known one
        ("thường chú" -> "thường trú", "đăng kí" -> "đăng ký")."""
        out = list(words)
        for i, w in enumerate(out):
            if w.expanded or not w.text.isalpha():
                continue
            if has_diacritics(w.text) and w.text not in self.known_forms:
                out[i] = NormWord(self._retone(w.text), w.start, w.end)
        for i, w in enumerate(out):
            if not w.text.isalpha():
                continue
            folded = fold(w.text)
            prev = fold(out[i - 1].text) if i > 0 else None
            nxt = fold(out[i + 1].text) if i + 1 < len(out) else None
            current = max(self._pair_count(prev, folded) if prev else 0,
                          self._pair_count(folded, nxt) if nxt else 0)
            if current or w.expanded:
                continue
            best, best_count, pair = None, 0, None
            for candidate in _variants(folded):
                for count, gram, position in (
                        (self._pair_count(prev, candidate) if prev else 0, f"{prev} {candidate}", 1),
                        (self._pair_count(candidate, nxt) if nxt else 0, f"{candidate} {nxt}", 0)):
                    if count > best_count:
                        best, best_count, pair = candidate, count, (gram, position)
            if best is not None and best_count >= _MIN_PAIR_COUNT:
                form = best
                if has_diacritics(w.text):  # keep the message's accented style
                    accented = self.restorer.best(pair[0])
                    form = accented.split(" ")[pair[1]] if accented else best
                out[i] = NormWord(form, w.start, w.end)
        return out
