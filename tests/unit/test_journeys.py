"""The journeys' definitions agree with the domain; corrections, statuses, receipt facts."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.journey_actions import ValidateJourneyForm
from assistant.clients.portal import Dossier, StatusChange
from assistant.dossiers.corrections import Correction, parse_correction
from assistant.dossiers.fields import FieldContext, FieldError, read_field
from assistant.dossiers.journeys import CONFIRM_SLOT, FIELD_SLOTS, JOURNEYS, LOGIN_SLOTS, fields_to_ask
from assistant.dossiers.receipt_facts import fee_lines, working_days
from assistant.dossiers.status import describe, find_dossier_code, find_draft_reference
from assistant.knowledge.loader import load_knowledge_base
from assistant.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
FORM_SLOTS = [*LOGIN_SLOTS, *FIELD_SLOTS, CONFIRM_SLOT]


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(load_settings().knowledge_base_dir)


def test_the_eight_online_journeys_of_the_issue_exist() -> None:
    assert set(JOURNEYS) == {"dang-ky-tam-tru", "gia-han-tam-tru", "khai-bao-tam-vang", "dang-ky-thuong-tru",
                             "tach-ho", "xac-nhan-thong-tin-cu-tru", "cap-doi-the-can-cuoc",
                             "cap-lai-the-can-cuoc"}


@pytest.mark.parametrize("slot", FORM_SLOTS)
def test_every_form_slot_is_in_the_domain_with_its_question(slot: str) -> None:
    spec = DOMAIN["slots"][slot]
    assert spec["influence_conversation"] is False
    condition = spec["mappings"][0]["conditions"][0]
    assert condition == {"active_loop": "journey_form", "requested_slot": slot}
    assert f"action_ask_{slot}" in DOMAIN["actions"]
    assert slot in DOMAIN["forms"]["journey_form"]["required_slots"]


def test_a_phone_the_registry_holds_is_not_asked() -> None:
    journey = JOURNEYS["dang-ky-tam-tru"]
    assert "field_phone" in [f.slot for f in fields_to_ask(journey, {"phone": None})]
    assert "field_phone" not in [f.slot for f in fields_to_ask(journey, {"phone": "0912345678"})]


@pytest.mark.parametrize("procedure_id", sorted(JOURNEYS))
def test_each_journey_is_a_procedure_with_a_time_limit(kb, procedure_id: str) -> None:
    assert procedure_id in kb.procedures
    assert 1 <= working_days(kb, procedure_id) <= 7


def test_receipt_fee_is_the_online_rate_for_one_person(kb) -> None:
    assert fee_lines(kb, "dang-ky-tam-tru", date(2026, 11, 22)) == ["Nộp trực tuyến: 7.000 đồng"]
    assert fee_lines(kb, "khai-bao-tam-vang", date(2026, 11, 22)) == ["Lệ phí: miễn phí"]
    # the 50% reduction is unverified in the fact sheet: marked, and gone after it ends
    assert fee_lines(kb, "cap-lai-the-can-cuoc",
                     date(2026, 11, 22))[0] == "Cấp lại thẻ căn cước: 35.000 đồng ⚠"
    assert fee_lines(kb, "cap-lai-the-can-cuoc", date(2027, 1, 5))[0] == "Cấp lại thẻ căn cước: 70.000 đồng"


@pytest.mark.parametrize("text, slot, value", [
    ("sửa thời hạn thành 6 tháng", "field_stay_months", "6 tháng"),
    ("sua thoi han thanh 1 nam", "field_stay_months", "1 nam"),
    ("Sửa địa chỉ thành Số 5, tổ 2, phường Bãi Cháy, Quảng Ninh", "field_address",
     "Số 5, tổ 2, phường Bãi Cháy, Quảng Ninh"),
    ("em muốn đổi số điện thoại thành 0912 345 678", "field_phone", "0912 345 678"),
    ("sđt đúng là 0912345678", "field_phone", "0912345678"),
    ("sửa lại quan hệ với chủ hộ là con", "field_head_relation", "con"),
])
def test_corrections_name_the_field_and_keep_the_value_as_typed(text: str, slot: str, value: str) -> None:
    correction = parse_correction(text, JOURNEYS["dang-ky-tam-tru"])
    assert correction is not None and (correction.slot, correction.value_text) == (slot, value)


def test_registry_fields_are_recognised_but_not_editable() -> None:
    correction = parse_correction("sửa ngày sinh thành 05/03/1990", JOURNEYS["dang-ky-tam-tru"])
    assert correction is not None and correction.slot is None and correction.registry_field == "ngay sinh"


@pytest.mark.parametrize("text", ["đăng ký tạm trú cần giấy tờ gì",
                                  "Số 12, tổ 3, phường Hồng Gai, Quảng Ninh",
                                  "1 năm", "", "sửa", "sửa địa chỉ thành"])
def test_other_messages_are_not_corrections(text: str) -> None:
    assert parse_correction(text, JOURNEYS["dang-ky-tam-tru"]) is None


def test_a_field_the_journey_does_not_have_is_not_a_correction() -> None:
    # extending a stay asks no address: "sửa địa chỉ…" is then not one of its fields
    assert parse_correction("sửa địa chỉ thành phường Bãi Cháy, Quảng Ninh",
                            JOURNEYS["gia-han-tam-tru"]) is None


def test_codes_and_draft_references_are_found_in_messages() -> None:
    assert find_dossier_code("tra cứu hồ sơ h22.06.685-261122-0001 giúp em") == "H22.06.685-261122-0001"
    assert find_dossier_code("hồ sơ của tôi") is None
    assert find_draft_reference("tra cuu nhap-1a2b3c4d") == "NHAP-1A2B3C4D"


def _dossier(status: str, label: str, reason: str | None, full: bool = True) -> Dossier:
    at = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
    return Dossier(code="H22.06.685-261122-0001", procedure_id="dang-ky-tam-tru", status=status,
                   status_label=label, created_at=at, updated_at=at, full=full,
                   history=(StatusChange("received", "Đã tiếp nhận", None, at),
                            StatusChange(status, label, reason, at)))


def test_a_supplement_request_shows_its_reason_and_the_next_step() -> None:
    text = describe(_dossier("needs_supplement", "Cần bổ sung hồ sơ", "Thiếu hợp đồng thuê nhà"),
                    "Đăng ký tạm trú")
    assert ("Cần bổ sung hồ sơ" in text and "Lý do: Thiếu hợp đồng thuê nhà" in text
            and "bổ sung giấy tờ" in text)


def test_the_public_view_invites_to_log_in() -> None:
    text = describe(_dossier("approved", "Đã có kết quả", None, full=False), None)
    assert "nhận kết quả" in text and "Đăng nhập" in text


APPLICANT, HEAD = "022083394692", "022153735858"  # a son, and the head of the household he moves into


def _head_number(text: str, relation: str) -> str:
    context = FieldContext(date(2026, 11, 22), {"id_number": APPLICANT}, {"field_head_relation": relation})
    return read_field(JOURNEYS["dang-ky-thuong-tru"].field("field_head_id_number"), text, context)


@pytest.mark.parametrize("text, relation, number", [
    (HEAD, "cháu", HEAD), (f"số của ông là {HEAD}", "người thuê nhà", HEAD),
    ("tôi", "chủ hộ", APPLICANT), (APPLICANT, "chủ hộ", APPLICANT),
])
def test_the_heads_number_fits_the_relation_given(text: str, relation: str, number: str) -> None:
    assert _head_number(text, relation) == number


@pytest.mark.parametrize("text, relation, words", [
    (APPLICANT, "cháu", "là cháu của chủ hộ nên em cần số định danh của chủ hộ, không phải số của anh/chị"),
    ("tôi", "con", "không phải số của anh/chị"),
    (HEAD, "chủ hộ", "là chủ hộ nên số định danh của chủ hộ là số của anh/chị"),
])
def test_a_heads_number_contradicting_the_relation_is_refused(text: str, relation: str, words: str) -> None:
    with pytest.raises(FieldError, match=words):
        _head_number(text, relation)


def test_correcting_the_relation_asks_again_for_a_heads_number_it_contradicts() -> None:
    context = FieldContext(date(2026, 11, 22), {"id_number": APPLICANT},
                           {"field_head_relation": "con", "field_head_id_number": HEAD})
    form, journey = ValidateJourneyForm(), JOURNEYS["dang-ky-thuong-tru"]
    updates = form._correct(Correction("field_head_relation", "chủ hộ"), CONFIRM_SLOT, journey, context,
                            CollectingDispatcher())
    assert updates == {CONFIRM_SLOT: None, "field_head_relation": "chủ hộ", "field_head_id_number": None}
    updates = form._correct(Correction("field_head_relation", "cháu"), CONFIRM_SLOT, journey, context,
                            CollectingDispatcher())
    assert updates == {CONFIRM_SLOT: None, "field_head_relation": "cháu"}  # the head's number still fits
