"""Attachments sent with a dossier (photos or scans of papers): base64 in JSON, checked for
type and size before anything is stored.

The declared type must be JPEG, PNG or PDF *and* the bytes must start like one: a kiosk
file picker or a chat channel can label anything "image/jpeg".
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from fastapi import HTTPException
from pydantic import BaseModel

MAX_FILES = 10
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024
SIGNATURES: dict[str, tuple[bytes, str]] = {
    "image/jpeg": (b"\xff\xd8\xff", "ảnh JPEG"),
    "image/png": (b"\x89PNG\r\n\x1a\n", "ảnh PNG"),
    "application/pdf": (b"%PDF-", "tệp PDF"),
}


class AttachmentIn(BaseModel):
    name: str
    content_type: str
    data: str  # base64


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}".replace(".", ",") + " MB"


def checked_files(files: list[AttachmentIn]) -> list[CheckedFile]:
    """Decoded, checked files; HTTPException (413/415/422) with a Vietnamese reason otherwise."""
    if len(files) > MAX_FILES:
        raise HTTPException(413, f"Mỗi hồ sơ đính kèm tối đa {MAX_FILES} tệp ({len(files)} tệp được gửi).")
    result, total = [], 0
    for item in files:
        name = PureWindowsPath(PurePosixPath(item.name.strip()).name).name[:200] or "tep-dinh-kem"
        content_type = item.content_type.split(";")[0].strip().lower()
        if content_type not in SIGNATURES:
            raise HTTPException(415, f"Tệp '{name}': chỉ nhận ảnh JPEG, PNG hoặc tệp PDF.")
        if len(item.data) > (MAX_FILE_BYTES * 4) // 3 + 4:
            raise HTTPException(413, f"Tệp '{name}' vượt quá {_mb(MAX_FILE_BYTES)}; anh/chị chụp lại "
                                     "với độ phân giải thấp hơn hoặc nén tệp.")
        try:
            data = base64.b64decode(item.data, validate=True)
        except (binascii.Error, ValueError) as error:
            raise HTTPException(422, f"Tệp '{name}' không đọc được (dữ liệu base64 không hợp lệ).") from error
        if len(data) > MAX_FILE_BYTES:
            raise HTTPException(413, f"Tệp '{name}' ({_mb(len(data))}) vượt quá {_mb(MAX_FILE_BYTES)}.")
        signature, label = SIGNATURES[content_type]
        if not data.startswith(signature):
            raise HTTPException(422, f"Tệp '{name}' không phải {label} như khai báo.")
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise HTTPException(413, f"Tổng dung lượng tệp đính kèm vượt quá {_mb(MAX_TOTAL_BYTES)}.")
        result.append(CheckedFile(name, content_type, data))
    return result
