"""The inbox of what citizens could not get answered: the action server's redacted record
(assistant/unanswered.py), grouped by similarity for the officers.

Grouping: each question becomes a unit vector, by the running semantic search's encoder
when it is ready (e5, `encode_queries`), else by character n-grams (2 to 4 characters
within words, sublinear term frequency, on the text lower-cased without diacritics, so that
"lam can cuoc" and "làm căn cước" look alike; placeholders such as <SỐ> are left out).
No IDF: fitted on the questions shown, it changed the groups of the remaining questions when
an officer marked one group handled (a group of three split in two); term frequency alone
gives every question the same vector whatever else is in the inbox. Then, oldest
question first, each joins the group whose centroid (the normalised mean of its members)
is the most similar, if the cosine reaches the threshold, or starts a new group.

Thresholds, set on 13 questions whose right groups are obvious (five topics: "sổ đỏ",
"kết hôn", "bằng lái", and two singletons; with and without diacritics, one with
placeholders; the same set is in tests/services/test_console_inbox.py):
- n-grams 0.4: rephrasings of one question score 0.35-1.0 against each other (mostly 0.5+),
  different topics at most 0.38; against a group's centroid the right group wins at 0.35
  and 0.4; at 0.45 "đổi bằng lái xe máy" stays alone. (With IDF the numbers were lower,
  0.3 the threshold, and unstable, see above.)
- e5-vi (models/e5-vi, the search's fine-tuned encoder) 0.5: rephrasings 0.47-0.88, other
  topics at most 0.43; 0.45 to 0.6 give the same groups. Unaccented questions score low
  against accented ones (0.26) unless the search's `prepare` restores the diacritics first,
  which is used when the search has it.

Turning a group into a FAQ entry: the store refuses an empty answer, so nothing is saved
in one click; the edit form opens prefilled (the group's distinct questions as variants,
at least two: the first is also given without diacritics; a suggested id; empty answer).
When the officer saves it, the draft exists and the group's questions are marked
`drafted` with the draft's number. Nothing of this needs the citizens' personal data: the
texts were redacted before they were stored, and are shown as stored.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from assistant.unanswered import OPEN, UnansweredLog
from services.console.content import fold

NGRAM_THRESHOLD = 0.4
ENCODER_THRESHOLD = 0.5
MAX_QUESTIONS = 2000  # the newest this many are grouped
EXAMPLES = 5
PLACEHOLDER = re.compile(r"<[^<>\s]{1,20}>")


@dataclass
class Group:
    ids: list[int]
    count: int
    first: str
    last: str
    channels: dict[str, int]
    reasons: dict[str, int]
    examples: list[str]
    texts: list[str] = field(default_factory=list, repr=False)


def _clean(text: str) -> str:
    return " ".join(PLACEHOLDER.sub(" ", text).split())


def ngram_vectors(texts: Sequence[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    folded = [fold(_clean(t)) or "_" for t in texts]
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True,
                             use_idf=False).fit_transform(folded)
    return matrix.toarray().astype(np.float64)  # rows are already unit length (norm="l2")


_ENCODED: dict[tuple[int, str, str], np.ndarray] = {}  # (encoder, its name, text) -> unit vector
CACHE_SIZE = 20000


def encoder_vectors(encoder: Any, prepare: Callable[[str], str] | None = None
                    ) -> Callable[[Sequence[str]], np.ndarray]:
    """Unit vectors by the search's encoder, after the search's own query preparation (it
    restores missing diacritics), if any. Each distinct text is encoded once per encoder
    and kept (the texts never change): a page of 2000 questions is not 2000 encodings."""
    def key(text: str) -> tuple[int, str, str]:
        return id(encoder), str(getattr(encoder, "name", "")), text

    def vectors(texts: Sequence[str]) -> np.ndarray:
        cleaned = [_clean(t) or t for t in texts]
        missing = [t for t in dict.fromkeys(cleaned) if key(t) not in _ENCODED]
        if missing:
            prepared = [prepare(t) for t in missing] if prepare is not None else missing
            found = np.asarray(encoder.encode_queries(prepared), dtype=np.float64)
            norms = np.linalg.norm(found, axis=1, keepdims=True)
            found = found / np.where(norms == 0, 1, norms)
            if len(_ENCODED) + len(missing) > CACHE_SIZE:
                _ENCODED.clear()
            _ENCODED.update((key(t), v) for t, v in zip(missing, found))
        return np.stack([_ENCODED[key(t)] for t in cleaned])

    return vectors


def cluster(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Greedy centroid grouping, in the order of the rows: indices of each group."""
    groups: list[list[int]] = []
    sums: list[np.ndarray] = []
    for index, vector in enumerate(vectors):
        best, best_score = -1, threshold
        for number, total in enumerate(sums):
            norm = np.linalg.norm(total)
            score = float(vector @ total / norm) if norm else 0.0
            if score >= best_score:
                best, best_score = number, score
        if best < 0:
            groups.append([index])
            sums.append(vector.copy())
        else:
            groups[best].append(index)
            sums[best] = sums[best] + vector
    return groups


def grouping_method(search: Any) -> tuple[Callable[[Sequence[str]], np.ndarray], float, str]:
    """(vectoriser, threshold, name): the search's encoder when it is ready, else character n-grams."""
    encoder = getattr(search, "encoder", None)
    if encoder is not None and hasattr(encoder, "encode_queries"):
        return encoder_vectors(encoder, getattr(search, "prepare", None)), ENCODER_THRESHOLD, "encoder"
    return ngram_vectors, NGRAM_THRESHOLD, "ngram"


def group_rows(rows: list[dict], search: Any = None) -> tuple[list[Group], str]:
    """Groups of the rows (each a dict from UnansweredLog.rows), largest and latest first."""
    if not rows:
        return [], "none"
    rows = sorted(rows, key=lambda r: (r["asked_at"], r["id"]))
    vectorise, threshold, method = grouping_method(search)
    try:
        vectors = vectorise([r["text"] for r in rows])
    except Exception:  # the encoder failed: the n-grams always work
        if method == "ngram":
            raise
        vectors, threshold, method = ngram_vectors([r["text"] for r in rows]), NGRAM_THRESHOLD, "ngram"
    groups = [_group([rows[i] for i in members]) for members in cluster(vectors, threshold)]
    groups.sort(key=lambda g: (g.count, g.last), reverse=True)
    return groups, method


def _group(members: list[dict]) -> Group:
    texts: list[str] = []
    for row in reversed(members):  # newest first, each distinct text once
        if row["text"] not in texts:
            texts.append(row["text"])
    return Group(ids=[r["id"] for r in members], count=len(members), first=members[0]["asked_at"],
                 last=members[-1]["asked_at"], channels=dict(Counter(r["channel"] for r in members)),
                 reasons=dict(Counter(r["reason"].split(":")[0] for r in members)),
                 examples=texts[:EXAMPLES], texts=texts)


def inbox_groups(log: UnansweredLog, search: Any = None, status: str = OPEN,
                 days: int = 90) -> tuple[list[Group], str]:
    since = datetime.now(timezone.utc) - timedelta(days=days)
    return group_rows(log.rows(status=status or None, since=since, limit=MAX_QUESTIONS), search)


def parse_ids(values: Sequence[str] | str) -> list[int]:
    """Ids from form fields or a query (`1,2,3`), ignoring anything that is not a number."""
    if isinstance(values, str):
        values = [values]
    return sorted({int(part) for value in values for part in str(value).split(",")
                   if part.strip().isdigit()})


def suggestion(log: UnansweredLog, ids: Sequence[int], taken: Callable[[str], bool]) -> dict[str, Any]:
    """A FAQ payload for the group, not saved: its questions as variants, an empty answer."""
    texts = []
    for text in log.texts(ids):
        if text not in texts:
            texts.append(text)
    # questions without placeholders first: they need the least editing
    texts.sort(key=lambda t: bool(PLACEHOLDER.search(t)))
    questions = texts[:8]
    if questions:
        bare = fold(questions[0])
        if bare not in questions:
            questions.append(bare)
    words = re.findall(r"[a-z0-9]+", fold(_clean(questions[0]) if questions else ""))
    slug = "-".join(words[:6]) or "cau-hoi"
    candidate, number = slug, 2
    while taken(f"faq:{candidate}"):
        candidate, number = f"{slug}-{number}", number + 1
    return {"id": candidate, "questions": questions, "answer": "", "basis": "", "sources": []}
