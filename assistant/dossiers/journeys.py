"""The online journeys: for each procedure a citizen can file in chat, the fields its form
(CT01 for residence, DC02 for the ID card) needs beyond what the registry already holds.

The applicant's name, date of birth, sex, ID number and current addresses come from the
registry through the login token: they are shown in the summary, never asked. A field is
asked only when the case needs it (a phone number only if the registry has none).

Everything here is immutable data; the conversation's values live in the Rasa tracker.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(str, Enum):
    """How a field's answer is read (see `assistant.dossiers.fields`)."""

    ADDRESS = "address"
    STAY_MONTHS = "stay_months"
    RELATION = "relation"
    ID_NUMBER = "id_number"
    ID_NUMBERS = "id_numbers"
    PHONE = "phone"
    DATE = "date"
    TEXT = "text"
    CHOICE = "choice"
    APPOINTMENT = "appointment"


@dataclass(frozen=True)
class FieldSpec:
    slot: str  # the Rasa slot that holds the value
    label: str  # its line in the summary and on the form
    question: str
    kind: Kind
    choices: tuple[str, ...] = ()
    example: str | None = None
    only_if_missing: str | None = None  # a profile attribute: ask only when the registry lacks it


@dataclass(frozen=True)
class Journey:
    procedure_id: str
    title: str  # "đăng ký tạm trú"
    form: str  # the official form the dossier carries
    fields: tuple[FieldSpec, ...]
    in_person: bool = False  # the ID card: biometrics at the commune police, by appointment
    needs_temporary_address: bool = False  # extending a stay needs one to extend

    @property
    def slots(self) -> tuple[str, ...]:
        return tuple(f.slot for f in self.fields)

    def field(self, slot: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.slot == slot), None)


LOGIN_SLOTS = ("login_id_number", "login_otp")
CONFIRM_SLOT = "dossier_confirmed"

_PHONE = FieldSpec("field_phone", "Số điện thoại liên hệ",
                   "Số điện thoại di động để Công an liên hệ khi cần là số nào ạ?", Kind.PHONE,
                   example="0912345678", only_if_missing="phone")
_STAY = FieldSpec("field_stay_months", "Thời hạn tạm trú",
                  "Anh/chị đề nghị tạm trú trong bao lâu ạ? (tối đa 2 năm, ví dụ: 6 tháng, 1 năm)",
                  Kind.STAY_MONTHS, example="1 năm")
_HEAD_RELATION = FieldSpec(
    "field_head_relation", "Quan hệ với chủ hộ",
    "Anh/chị là gì của chủ hộ ở nơi đó ạ? (ví dụ: con, vợ, người thuê nhà; nếu anh/chị tự đứng "
    "tên chủ hộ thì nhắn \"chủ hộ\")", Kind.RELATION, example="người thuê nhà")
_HEAD_ID = FieldSpec(
    "field_head_id_number", "Số định danh của chủ hộ",
    "Số định danh cá nhân (số căn cước, 12 chữ số) của chủ hộ nơi đó là gì ạ? Nếu anh/chị là "
    "chủ hộ, nhắn \"tôi\".", Kind.ID_NUMBER, example="022190001234")

JOURNEYS: dict[str, Journey] = {j.procedure_id: j for j in (
    Journey("dang-ky-tam-tru", "đăng ký tạm trú", "CT01", (
        FieldSpec("field_address", "Nơi đề nghị đăng ký tạm trú",
                  "Anh/chị đăng ký tạm trú ở địa chỉ nào ạ? Ghi số nhà, đường hoặc thôn/tổ, "
                  "xã/phường, tỉnh/thành phố.", Kind.ADDRESS,
                  example="Số 12, tổ 3, khu 5, phường Hồng Gai, Quảng Ninh"),
        _STAY, _HEAD_RELATION, _PHONE)),
    Journey("gia-han-tam-tru", "gia hạn tạm trú", "CT01", (_STAY, _PHONE),
            needs_temporary_address=True),
    Journey("khai-bao-tam-vang", "khai báo tạm vắng", "CT01", (
        FieldSpec("field_start_date", "Tạm vắng từ ngày", "Anh/chị bắt đầu vắng mặt từ ngày nào ạ?",
                  Kind.DATE, example="01/12/2026"),
        FieldSpec("field_end_date", "Đến ngày", "Dự kiến vắng đến ngày nào ạ?", Kind.DATE,
                  example="01/12/2027"),
        FieldSpec("field_destination", "Nơi đến",
                  "Trong thời gian tạm vắng anh/chị đến ở đâu ạ? (xã/phường, tỉnh/thành phố)",
                  Kind.ADDRESS, example="phường Bãi Cháy, Quảng Ninh"),
        FieldSpec("field_reason", "Lý do tạm vắng", "Lý do tạm vắng là gì ạ? (ví dụ: đi làm ăn xa, đi học)",
                  Kind.TEXT, example="đi làm ăn xa"),
        _PHONE)),
    Journey("dang-ky-thuong-tru", "đăng ký thường trú", "CT01", (
        FieldSpec("field_address", "Nơi đề nghị đăng ký thường trú",
                  "Anh/chị đăng ký thường trú vào địa chỉ nào ạ? Ghi số nhà, đường hoặc thôn/tổ, "
                  "xã/phường, tỉnh/thành phố.", Kind.ADDRESS,
                  example="Số 8, đường Lê Thánh Tông, phường Hồng Gai, Quảng Ninh"),
        _HEAD_RELATION, _HEAD_ID, _PHONE)),
    Journey("tach-ho", "tách hộ", "CT01", (
        FieldSpec("field_members", "Thành viên cùng chuyển sang hộ mới",
                  "Ngoài anh/chị, những ai chuyển sang hộ mới? Nhắn số định danh của từng người, "
                  "cách nhau bằng dấu phẩy, hoặc nhắn \"không\".", Kind.ID_NUMBERS,
                  example="022190001234, 022305004321"),
        _PHONE)),
    Journey("xac-nhan-thong-tin-cu-tru", "xác nhận thông tin về cư trú", "CT01", (
        FieldSpec("field_reason", "Mục đích xác nhận",
                  "Anh/chị cần giấy xác nhận (CT07) để làm gì ạ? (ví dụ: bổ sung hồ sơ xin việc, "
                  "nhập học cho con)", Kind.TEXT, example="bổ sung hồ sơ xin việc"),
        _PHONE)),
    Journey("cap-doi-the-can-cuoc", "cấp đổi thẻ căn cước", "DC02", (
        FieldSpec("field_reason", "Lý do cấp đổi", "Anh/chị đổi thẻ vì lý do nào ạ?", Kind.CHOICE,
                  choices=("Đủ tuổi đổi thẻ (14, 25, 40, 60 tuổi)", "Thẻ bị hỏng",
                           "Thay đổi thông tin trên thẻ", "Đổi thẻ CCCD sang thẻ căn cước",
                           "Thông tin trên thẻ bị in sai")),
        FieldSpec("field_appointment", "Lịch hẹn thu nhận vân tay, ảnh mặt",
                  "Việc cấp thẻ cần anh/chị đến Công an xã để chụp ảnh, lấy vân tay. Anh/chị chọn "
                  "buổi nào ạ?", Kind.APPOINTMENT),
        _PHONE), in_person=True),
    Journey("cap-lai-the-can-cuoc", "cấp lại thẻ căn cước", "DC02", (
        FieldSpec("field_reason", "Lý do cấp lại", "Anh/chị cần cấp lại thẻ vì lý do nào ạ?", Kind.CHOICE,
                  choices=("Thẻ bị mất", "Được trở lại quốc tịch Việt Nam")),
        FieldSpec("field_appointment", "Lịch hẹn thu nhận vân tay, ảnh mặt",
                  "Việc cấp lại thẻ cần anh/chị đến Công an xã để chụp ảnh, lấy vân tay. Anh/chị "
                  "chọn buổi nào ạ?", Kind.APPOINTMENT),
        _PHONE), in_person=True),
)}

# Every slot any journey fills (the domain declares exactly these).
FIELD_SLOTS: tuple[str, ...] = tuple(dict.fromkeys(s for j in JOURNEYS.values() for s in j.slots))


def journey(procedure_id: str | None) -> Journey | None:
    return JOURNEYS.get(procedure_id or "")


def fields_to_ask(journey: Journey, profile: dict | None) -> list[FieldSpec]:
    """The fields this citizen is asked, in order: a field the registry already fills
    (`only_if_missing`) is skipped."""
    profile = profile or {}
    return [f for f in journey.fields if not (f.only_if_missing and profile.get(f.only_if_missing))]
