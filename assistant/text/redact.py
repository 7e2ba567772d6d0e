"""Remove personal data from text before it is stored or logged."""
from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_LONG_NUMBER = re.compile(r"(?:\+84|\d)(?:[\s.\-]?\d){5,}")  # ID, CMND, phone, any long number
_DOSSIER = re.compile(r"[A-Za-z]\d{2}(?:\.[A-Za-z0-9]{1,4}){1,3}-\d{6}-\d{4}")
_DATE = re.compile(r"\b\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}\b")
# "tên tôi là Nguyễn Văn A", "tôi tên Lê Thị B": the capitalised words after it are a name.
_NAME = re.compile(
    r"((?:tên|ten)\s+(?:(?:tôi|toi|em|mình|minh|con|cháu|chau)\s+)?(?:là\s+|la\s+)?)"
    r"((?:[A-ZÀ-Ỹ][\wÀ-ỹ]*\s*){1,5})"
)


def redact(text: str) -> str:
    text = _EMAIL.sub("<EMAIL>", text)
    text = _DOSSIER.sub("<MÃ_HỒ_SƠ>", text)
    text = _DATE.sub("<NGÀY>", text)
    text = _LONG_NUMBER.sub("<SỐ>", text)
    text = _NAME.sub(lambda m: m.group(1) + "<TÊN> ", text)
    return " ".join(text.split())
