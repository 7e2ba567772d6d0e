"""A dossier's status in plain Vietnamese, with what the citizen does next."""
from __future__ import annotations

from assistant.clients.portal import Dossier
from assistant.text.entities import (  # portal code; outbox draft
    DOSSIER_CODE,
    DRAFT_REFERENCE,
)

_NEXT_STEP: dict[str, str] = {
    "received": "Hồ sơ đang chờ cán bộ kiểm tra. Anh/chị chưa cần làm gì thêm; khi có thay đổi em sẽ báo "
                "trên kênh anh/chị đã nộp.",
    "processing": "Cán bộ đang xác minh, giải quyết hồ sơ. Anh/chị giữ điện thoại để cán bộ liên hệ khi cần.",
    "needs_supplement": "Anh/chị cần bổ sung giấy tờ theo yêu cầu của cán bộ, tại Công an xã nơi nộp hồ sơ "
                        "hoặc trên Cổng Dịch vụ công.",
    "approved": "Hồ sơ đã có kết quả. Anh/chị nhận kết quả tại Công an xã nơi nộp hồ sơ (giờ hành chính, "
                "mang theo thẻ căn cước), hoặc xem trên ứng dụng VNeID.",
    "result_returned": "Hồ sơ đã hoàn tất và đã trả kết quả. Thông tin đã được cập nhật vào cơ sở dữ liệu.",
    "rejected": "Hồ sơ không được giải quyết. Anh/chị có thể nộp hồ sơ mới sau khi khắc phục lý do trên, "
                "hoặc hỏi trực tiếp Công an xã.",
}


def find_dossier_code(text: str) -> str | None:
    match = DOSSIER_CODE.search(text or "")
    return match.group().upper() if match else None


def find_draft_reference(text: str) -> str | None:
    match = DRAFT_REFERENCE.search(text or "")
    return match.group().upper() if match else None


def describe(dossier: Dossier, procedure_name: str | None) -> str:
    """"Hồ sơ H22…-0001 (Đăng ký tạm trú): Cần bổ sung hồ sơ (cập nhật 25/11/2026 09:30). Lý do: …"."""
    what = f" ({procedure_name})" if procedure_name else ""
    lines = [f"Hồ sơ {dossier.code}{what}: {dossier.status_label} "
             f"(cập nhật {dossier.updated_at:%d/%m/%Y %H:%M})."]
    reason = next((h.reason for h in reversed(dossier.history)
                   if h.status == dossier.status and h.reason), None)
    if reason:
        lines.append(f"Lý do: {reason}")
    lines.append(_NEXT_STEP.get(dossier.status, "Anh/chị liên hệ Công an xã nơi nộp hồ sơ để biết thêm."))
    if not dossier.full:
        lines.append("(Đăng nhập để xem đầy đủ chi tiết và lý do của hồ sơ mình.)")
    return "\n".join(lines)
