"""Remove personal data from text before it is stored or logged.

What goes, replaced by a placeholder:
  <EMAIL>      e-mail addresses
  <MÃ_HỒ_SƠ>   dossier codes (H01.02.003-260101-0001) and outbox references (NHAP-1A2B3C4D)
  <NGÀY>       dates written with digits (a birth date is personal)
  <SỐ>         any number of 6 digits or more, spaces, dots and dashes allowed inside:
               12-digit căn cước, 9-digit CMND, phone numbers (0912 345 678, +84 912…)
  <TÊN>        personal names, where they can be told apart from other words:
               - after "tên (tôi/em…) là", "tên:", "họ (và) tên (là/:)" (lower case too:
                 "tôi tên là nguyễn văn an"), up to four words, stopping at punctuation and at
                 words that are not names ("gì", "muốn", "cần"…);
               - after "tên" alone, "tôi/em/mình là", or a lower-case form of address
                 ("anh", "chị", "ông", "bà", "cô", "chú", "bác"): capitalised words;
               - with `ner=True` (the default), what underthesea's named-entity tagger marks
                 as a person (PER). Measured on this machine: 6 ms a sentence once loaded,
                 about 2.5 s to import and load the first time (`warm_up()` does that in a
                 thread); without underthesea, the patterns alone.
Nothing of the original survives in a placeholder. A name written in lower case with no
cue ("hỏi giúp nguyễn văn an") is not detected: that is the limit of doing this offline.
"""
from __future__ import annotations

import logging
import re
import threading
from typing import Any

logger = logging.getLogger(__name__)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DOSSIER = re.compile(r"(?<![\w.])[A-Za-z]\d{2}(?:\.[A-Za-z0-9]{1,4}){1,3}-\d{6}-\d{4}(?!\w)")
_DRAFT = re.compile(r"(?<!\w)NHAP-[0-9A-Fa-f]{8}(?!\w)", re.IGNORECASE)
_DATE = re.compile(r"(?<!\d)\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}(?!\d)")
_LONG_NUMBER = re.compile(r"(?:\+84|\d)(?:[\s.\-]?\d){5,}")  # ID, CMND, phone, any long number

_UPPER = "A-ZÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝĂĐĨŨƠƯẠ-Ỹ"
_CAP_WORD = rf"[{_UPPER}][^\W\d_]*"
_WORD = r"[^\W\d_]+"
_SELF = r"(?:tôi|toi|em|mình|minh|con|cháu|chau|tui|tớ)"
# an explicit cue: whatever name-like words follow are a name, in any case
_EXPLICIT = re.compile(
    rf"(?i)(?<!\w)((?:họ\s+(?:và\s+)?tên|ho\s+(?:va\s+)?ten|tên|ten)(?:\s+(?:của\s+|cua\s+)?{_SELF})?"
    r"\s*(?::|là(?!\w)|la(?!\w))\s*)"
)
# a weaker cue: only capitalised words after it are a name
_WEAK = re.compile(
    rf"(?<!\w)((?:[Tt]ên|[Tt]en)\s+(?:{_SELF}\s+)?|{_SELF}\s+(?:là|la)\s+|"
    r"(?:anh|chị|chi|ông|bà|cô|chú|bác|em|cháu)\s+)"
    rf"((?:{_CAP_WORD})(?:\s+{_CAP_WORD}){{0,4}})"
)
# words that end a name taken after an explicit cue
_NOT_NAME = frozenset("""
gì gi ai nào nao thế the vậy vay thì và va mà ma là la của cua có co không khong được duoc
muốn muon cần can hỏi hoi làm lam đăng dang ở o tại tai sinh số so cccd cmnd sdt sđt điện dien
xin cho bị bi đã da sẽ se đang nhưng nhung nên nen vì với voi trên tren trong mới moi cũ cu
khác khac sai đúng dung đổi doi người nguoi gọi goi ghi tuổi tuoi năm nhà nha email mail
""".split())
PLACEHOLDERS = ("<EMAIL>", "<MÃ_HỒ_SƠ>", "<NGÀY>", "<SỐ>", "<TÊN>")
_PLACEHOLDER_WORD = re.compile(r"[<>]|EMAIL|MÃ|HỒ|SƠ|NGÀY|SỐ|TÊN")

_ner: Any = None
_ner_state = "unloaded"  # unloaded | loading | ready | unavailable
_ner_lock = threading.Lock()


def _load_ner() -> Any:
    global _ner, _ner_state
    with _ner_lock:
        if _ner_state in ("ready", "unavailable"):
            return _ner
        try:
            from underthesea import ner

            ner("Nguyễn Văn An")  # loads the model
            _ner, _ner_state = ner, "ready"
        except Exception as error:  # not installed, or its model cannot load: patterns only
            logger.warning("underthesea NER unavailable (%s): names are found by patterns only", error)
            _ner, _ner_state = None, "unavailable"
        return _ner


def warm_up() -> None:
    """Load the tagger in a background thread, so that the first redaction does not wait."""
    if _ner_state == "unloaded":
        threading.Thread(target=_load_ner, name="redact-ner", daemon=True).start()


def _explicit_names(text: str) -> str:
    out, last = [], 0
    for cue in _EXPLICIT.finditer(text):
        if cue.start() < last:
            continue
        words = []
        position = cue.end()
        for word in re.finditer(rf"\s*({_WORD})", text[position:]):
            if word.start() != (words[-1].end() if words else 0) or len(words) == 4:
                break
            if word.group(1).lower() in _NOT_NAME:
                break
            words.append(word)
        if words:
            out.append(text[last:cue.end()] + "<TÊN>")
            last = position + words[-1].end()
    out.append(text[last:])
    return "".join(out)


def _tagged_names(text: str) -> str:
    tagger = _ner if _ner_state == "ready" else _load_ner()
    if tagger is None:
        return text
    try:
        tokens = tagger(text)
    except Exception:  # a tagger failure never stops the redaction
        logger.exception("NER failed")
        return text
    names = {t[0] for t in tokens if t[-1].endswith("PER") and not _PLACEHOLDER_WORD.search(t[0])
             and any(ch.isupper() for ch in t[0])}
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<![\w<]){re.escape(name)}(?![\w>])", "<TÊN>", text)
    return text


def redact(text: str, ner: bool = True) -> str:
    text = _EMAIL.sub("<EMAIL>", text)
    text = _DOSSIER.sub("<MÃ_HỒ_SƠ>", text)
    text = _DRAFT.sub("<MÃ_HỒ_SƠ>", text)
    text = _DATE.sub("<NGÀY>", text)
    text = _LONG_NUMBER.sub("<SỐ>", text)
    text = _explicit_names(text)
    text = _WEAK.sub(lambda m: m.group(1) + "<TÊN>", text)
    if ner:
        text = _tagged_names(text)
    text = re.sub(r"(<TÊN>)(?:\s*<TÊN>)+", r"\1", text)
    return " ".join(text.split())
