"""A dossier's life: the states, their Vietnamese names and the moves officers may make.

    received -> processing -> needs_supplement | approved -> result_returned
    needs_supplement -> processing;  rejected from received, processing or needs_supplement

A reason is required where the citizen has to act on it or deserves an explanation:
when supplements are requested and when the dossier is rejected.
"""
from __future__ import annotations

RECEIVED, PROCESSING, NEEDS_SUPPLEMENT = "received", "processing", "needs_supplement"
APPROVED, RESULT_RETURNED, REJECTED = "approved", "result_returned", "rejected"

LABELS: dict[str, str] = {
    RECEIVED: "Đã tiếp nhận",
    PROCESSING: "Đang xử lý",
    NEEDS_SUPPLEMENT: "Cần bổ sung hồ sơ",
    APPROVED: "Đã có kết quả",
    RESULT_RETURNED: "Đã trả kết quả",
    REJECTED: "Từ chối giải quyết",
}

TRANSITIONS: dict[str, frozenset[str]] = {
    RECEIVED: frozenset({PROCESSING, REJECTED}),
    PROCESSING: frozenset({NEEDS_SUPPLEMENT, APPROVED, REJECTED}),
    NEEDS_SUPPLEMENT: frozenset({PROCESSING, REJECTED}),
    APPROVED: frozenset({RESULT_RETURNED}),
    RESULT_RETURNED: frozenset(),
    REJECTED: frozenset(),
}

NEEDS_REASON = frozenset({NEEDS_SUPPLEMENT, REJECTED})


def transition_problem(current: str, target: str, reason: str | None) -> tuple[int, str] | None:
    """(HTTP status, Vietnamese reason) when the move is not allowed, else None."""
    if target not in LABELS:
        return 422, f"Trạng thái '{target}' không hợp lệ; chọn một trong: {', '.join(LABELS)}."
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(f"'{LABELS[s]}'" for s in sorted(TRANSITIONS[current])) or "không trạng thái nào"
        return 409, (f"Không thể chuyển hồ sơ từ '{LABELS[current]}' sang '{LABELS[target]}'; "
                     f"từ trạng thái này chỉ chuyển được sang {allowed}.")
    if target in NEEDS_REASON and not (reason or "").strip():
        return 422, f"Cần ghi rõ lý do khi chuyển hồ sơ sang '{LABELS[target]}'."
    return None
