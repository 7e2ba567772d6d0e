"""Reading a citizen's answer for one form field: the text becomes a stored value (plain
JSON, kept in a Rasa slot) or a `FieldError` whose message says what to type instead.

Cross-field rules live here too (a stay ends after it starts, the household head's number
is not the applicant's own), because only here are the other answers at hand.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from assistant.dossiers import validators as v
from assistant.dossiers.journeys import FieldSpec, Kind
from assistant.dossiers.validators import FieldError
from assistant.text.normalize import fold

__all__ = ["FieldContext", "FieldError", "check_head_id_number", "read_field", "show_value"]

_SELF_WORDS = {"toi", "chinh toi", "la toi", "toi la chu ho", "minh", "em", "chu ho"}


@dataclass(frozen=True)
class FieldContext:
    today: date
    profile: dict[str, Any]  # the logged-in citizen (see `profile_summary`)
    values: dict[str, Any]  # the answers given so far, by slot


def read_field(spec: FieldSpec, text: str, ctx: FieldContext) -> Any:
    """The value to store for `spec`, or FieldError."""
    kind = spec.kind
    if kind is Kind.ADDRESS:
        address = v.resolve_address(text)
        return {"detail": address.detail, "commune_code": address.commune_code, "commune": address.commune,
                "province": address.province, "text": address.text, "converted_from": address.converted_from}
    if kind is Kind.STAY_MONTHS:
        return v.parse_stay_months(text)
    if kind is Kind.RELATION:
        return v.parse_relation(text)
    if kind is Kind.PHONE:
        return v.parse_phone(text)
    if kind is Kind.TEXT:
        return v.parse_free_text(text)
    if kind is Kind.ID_NUMBER:
        return _head_id_number(text, ctx)
    if kind is Kind.ID_NUMBERS:
        numbers = v.parse_id_numbers(text)
        if ctx.profile.get("id_number") in numbers:
            raise FieldError("Không cần ghi số của chính anh/chị; "
                             "chỉ ghi những người cùng chuyển sang hộ mới.")
        return numbers
    if kind is Kind.DATE:
        return _date_field(spec, text, ctx).isoformat()
    if kind is Kind.CHOICE:
        return _choice(spec, text)
    if kind is Kind.APPOINTMENT:
        return _appointment(text, ctx)
    raise FieldError("Trường thông tin này chưa được hỗ trợ.")  # pragma: no cover - every Kind is handled


def show_value(spec: FieldSpec, value: Any) -> str:
    """How a stored value reads in the summary."""
    if value is None:
        return "(chưa có)"
    if spec.kind is Kind.ADDRESS:
        return value["text"]
    if spec.kind is Kind.STAY_MONTHS:
        years, months = divmod(int(value), 12)
        parts = ([f"{years} năm"] if years else []) + ([f"{months} tháng"] if months else [])
        return " ".join(parts)
    if spec.kind is Kind.DATE:
        return v.format_date(date.fromisoformat(value))
    if spec.kind is Kind.ID_NUMBERS:
        return ", ".join(value) if value else "không có"
    if spec.kind is Kind.APPOINTMENT:
        return value["label"]
    return str(value)


def _head_id_number(text: str, ctx: FieldContext) -> str:
    own = ctx.profile.get("id_number")
    if fold(text).strip(" .!") in _SELF_WORDS:
        if not own:
            raise FieldError("Em chưa có số định danh của anh/chị; anh/chị nhắn đủ 12 chữ số giúp em.")
        number = own
    else:
        number = v.parse_id_number_field(text)
    check_head_id_number(number, ctx.values.get("field_head_relation"), own)
    return number


def check_head_id_number(number: str, relation: str | None, own: str | None) -> None:
    """The household head's number agrees with the relation given: it is the applicant's own
    number exactly when they said they are the head (FieldError otherwise)."""
    if not relation or not own:
        return
    if relation == "chủ hộ" and number != own:
        raise FieldError("Anh/chị đã khai mình là chủ hộ nên số định danh của chủ hộ là số của anh/chị; "
                         "anh/chị nhắn \"tôi\", hoặc sửa quan hệ, ví dụ \"sửa quan hệ thành con\".")
    if relation != "chủ hộ" and number == own:
        raise FieldError(f"Anh/chị đã khai mình là {relation} của chủ hộ nên em cần số định danh của chủ hộ, "
                         "không phải số của anh/chị. Nếu chính anh/chị là chủ hộ, nhắn \"sửa quan hệ "
                         "thành chủ hộ\".")


def _date_field(spec: FieldSpec, text: str, ctx: FieldContext) -> date:
    if spec.slot == "field_end_date":
        start = ctx.values.get("field_start_date")
        earliest = date.fromisoformat(start) if start else ctx.today
        day = v.parse_date(text, today=ctx.today, allow_future=True, earliest=earliest)
        if day <= earliest:
            raise FieldError(f"Ngày kết thúc phải sau ngày bắt đầu ({v.format_date(earliest)}).")
        return day
    # the start of an absence: from 30 days ago (declared late) to a year ahead
    day = v.parse_date(text, today=ctx.today, allow_future=True)
    if (ctx.today - day).days > 30:
        raise FieldError("Ngày bắt đầu tạm vắng đã quá 30 ngày; anh/chị nhắn ngày bắt đầu gần đây "
                         "hoặc sắp tới, ví dụ 01/12/2026.")
    if (day - ctx.today).days > 365:
        raise FieldError("Ngày bắt đầu tạm vắng chỉ khai trước tối đa một năm.")
    return day


def _choice(spec: FieldSpec, text: str) -> str:
    folded = fold(text).strip(" .!")
    if folded.isdigit() and 1 <= int(folded) <= len(spec.choices):
        return spec.choices[int(folded) - 1]
    for choice in spec.choices:
        if folded and (folded == fold(choice) or folded in fold(choice)):
            return choice
    numbered = "; ".join(f"{i}. {c}" for i, c in enumerate(spec.choices, 1))
    raise FieldError(f"Anh/chị chọn một trong các lý do sau (bấm nút hoặc nhắn số thứ tự): {numbered}.")


def _appointment(text: str, ctx: FieldContext) -> dict[str, Any]:
    """An offered slot: the buttons send "25/11/2026 sáng"; typing it works too."""
    folded = fold(text)
    period = "afternoon" if "chieu" in folded else "morning" if "sang" in folded else None
    if period is None:
        raise FieldError("Anh/chị chọn một buổi trong các nút bên dưới, hoặc nhắn ví dụ \"25/11/2026 sáng\".")
    day_text = folded.replace("chieu", " ").replace("sang", " ").replace("buoi", " ")
    day = v.parse_date(day_text, today=ctx.today, allow_future=True, earliest=ctx.today)
    offered = {(s["date"], s["period"]): s for s in ctx.values.get("offered_slots") or []}
    slot = offered.get((day.isoformat(), period))
    if slot is None:
        raise FieldError("Buổi này không còn chỗ hoặc không nằm trong lịch tiếp nhận; anh/chị chọn một "
                         "buổi trong các nút bên dưới giúp em.")
    return slot
