"""Vietnamese normalisation that keeps track of where every word came from.

Citizens type NFD or NFC text, old-style tone placement ("hoà"), abbreviations and
teen code ("cccd", "đk", "ko", "j"), and stretched words ("alooo"). `normalize_words`
turns a message into a list of `NormWord`s: one normalised syllable each, with the
span of the original text it came from, so that tokens and entities can always be
mapped back to what the citizen typed.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

try:  # underthesea fixes tone placement ("hoà" -> "hòa"); optional for light environments
    from underthesea import text_normalize as _underthesea_normalize
except ImportError:  # pragma: no cover - exercised only where underthesea is missing
    _underthesea_normalize = None

_COMBINING = "\u0300-\u036f"
# A raw word: letters/digits (with any combining marks), optionally joined by . / - so that
# dates (5/3/1990), dossier codes (G01.899.108-261103-0012) and 0912.345.678 stay whole.
RAW_WORD = re.compile(rf"(?:[^\W_]|[{_COMBINING}])+(?:[./\-](?:[^\W_]|[{_COMBINING}])+)*")

VIETNAMESE_DIACRITIC_LETTERS = frozenset(
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
)

# Abbreviations and teen code as citizens type them (keys are lower-case, accent-folded).
ABBREVIATIONS: dict[str, str] = {
    "cccd": "căn cước công dân",
    "cmnd": "chứng minh nhân dân",
    "cmt": "chứng minh thư",
    "cc": "căn cước",
    "dk": "đăng ký",
    "dky": "đăng ký",
    "tt": "tạm trú",
    "tthc": "thủ tục hành chính",
    "ttuc": "thủ tục",
    "ko": "không",
    "k": "không",
    "kh": "không",
    "khg": "không",
    "hok": "không",
    "j": "gì",
    "ji": "gì",
    "dc": "được",
    "sdt": "số điện thoại",
    "dt": "điện thoại",
    "ntn": "như thế nào",
    "bn": "bao nhiêu",
    "bnhiu": "bao nhiêu",
    "bnhieu": "bao nhiêu",
    "mk": "mình",
    "mik": "mình",
    "mjk": "mình",
    "vs": "với",
    "r": "rồi",
    "e": "em",
    "a": "anh",
    "ak": "ạ",
    "hs": "hồ sơ",
    "gt": "giấy tờ",
    "tk": "tài khoản",
    "cx": "cũng",
    "cg": "cũng",
    "ng": "người",
    "trc": "trước",
    "bh": "bao giờ",
    "bhyt": "bảo hiểm y tế",
    "ubnd": "ủy ban nhân dân",
    "cax": "công an xã",
    "hkhau": "hộ khẩu",
    "thks": "cảm ơn",
    "tks": "cảm ơn",
    "thanks": "cảm ơn",
    "thank": "cảm ơn",
    "camon": "cảm ơn",
    "oki": "ok",
    "okie": "ok",
    "oke": "ok",
}


@dataclass(frozen=True)
class NormWord:
    """One normalised syllable (or number/code) and the span of the original text."""

    text: str
    start: int
    end: int
    expanded: bool = False  # produced by expanding an abbreviation ("cccd" -> "căn cước công dân")

    @property
    def folded(self) -> str:
        return fold(self.text)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case, strip Vietnamese diacritics (đ -> d): the form unaccented typing produces."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("đ", "d")


def has_diacritics(text: str) -> bool:
    return any(ch in VIETNAMESE_DIACRITIC_LETTERS for ch in unicodedata.normalize("NFC", text.lower()))


def squeeze_repeats(word: str) -> str:
    """'alooo' -> 'alo', 'nhéee' -> 'nhé': runs of three or more letters with the same base."""
    if len(word) < 3 or word.isdigit():
        return word
    out: list[str] = []
    run_base, run_len = "", 0
    for ch in word:
        base = fold(ch)
        if base == run_base and ch.isalpha():
            run_len += 1
            out.append(ch)
        else:
            if run_len >= 3:
                del out[len(out) - run_len + 1 :]
            run_base, run_len = base, 1
            out.append(ch)
    if run_len >= 3:
        del out[len(out) - run_len + 1 :]
    return "".join(out)


@lru_cache(maxsize=65536)
def normalize_word(raw: str) -> str:
    """NFC, lower case, stretched letters squeezed, standard tone placement."""
    word = unicodedata.normalize("NFC", raw).lower()
    word = squeeze_repeats(word)
    if _underthesea_normalize is not None and any(ch.isalpha() for ch in word):
        fixed = _underthesea_normalize(word)
        if len(fixed) == len(word) and " " not in fixed:
            word = fixed
    return word


def normalize_words(text: str, expand_abbreviations: bool = True) -> list[NormWord]:
    """Split `text` into normalised syllables, each pointing back at its original span."""
    words: list[NormWord] = []
    for match in RAW_WORD.finditer(text):
        start, end = match.span()
        # Only words typed without tone marks are abbreviations ("đk" and "dk" are; "à" is not "anh").
        key = unicodedata.normalize("NFC", match.group()).lower().replace("đ", "d")
        expansion = ABBREVIATIONS.get(key) if expand_abbreviations and fold(key) == key else None
        if expansion:
            for part in expansion.split():
                words.append(NormWord(part, start, end, expanded=True))
        else:
            words.append(NormWord(normalize_word(match.group()), start, end))
    return words


def normalize_text(text: str) -> str:
    """The normalised message as one string (for search and display of what was understood)."""
    return " ".join(word.text for word in normalize_words(text))


def is_mostly_unaccented(words: list[NormWord], threshold: float = 0.15) -> bool:
    """True when the citizen typed (almost) without diacritics.

    Expanded abbreviations do not count: "dk tam tru" is unaccented although "dk"
    expands to "đăng ký".
    """
    typed = [w for w in words if w.text.isalpha() and not w.expanded]
    if not typed:
        return False
    accented = sum(1 for w in typed if has_diacritics(w.text))
    return accented / len(typed) <= threshold
