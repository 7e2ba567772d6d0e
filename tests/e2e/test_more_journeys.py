"""The four online journeys test_journeys.py does not walk through, end to end through the
REST channel against the portal sandbox: gia hạn tạm trú (typed without diacritics, as at
a kiosk), đăng ký thường trú, tách hộ and xác nhận thông tin về cư trú. Each one logs in by
OTP, answers every question (one answer refused with its reason first), checks the summary,
confirms, and then reads, as an officer, the one dossier the portal holds for that citizen.

Citizens are picked from the sandbox registry by what the procedure needs, none of them one
that test_journeys.py files for, and none twice, so the dossier counts stay exact when
both files run in the same session. The action server and Rasa logs must stay free of
tracebacks and errors while each journey runs.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pytest

from .conftest import ROOT, ask, reply_text
from .test_journeys import citizens, log_in, new_sender, officer, pick_citizen

LOGS = [ROOT / "var" / "logs" / "5055.log", ROOT / "var" / "logs" / "5005.log"]
# Rasa 3.6 reads the JSON of the domain's button payloads ('/ask_overview{"procedure": …}', in
# utter_greet and utter_cannot_answer) as a slot placeholder and logs an ERROR, then sends the
# response unchanged: noise from domain.yml, not a crash.
BUTTON_PAYLOAD_NOISE = re.compile(r'rasa\.core\.nlg\.interpolator .*"response": "/\w+\{')
_claimed: set[str] = set()


@pytest.fixture(autouse=True)
def no_crash_in_the_logs(system):
    """What the action server and Rasa log during one test holds no traceback and no error."""
    sizes = {path: path.stat().st_size if path.exists() else 0 for path in LOGS}
    yield
    for path, size in sizes.items():
        if not path.exists():
            continue
        with path.open(encoding="utf-8", errors="replace") as handle:
            handle.seek(size)
            written = handle.read()
        bad = [line for line in written.splitlines() if ("Traceback" in line or " ERROR " in line)
               and not BUTTON_PAYLOAD_NOISE.search(line)]
        assert not bad, f"{path.name}:\n" + "\n".join(bad)


def claim(wanted: Callable[[dict], bool]) -> dict:
    """The first adult of the registry with a phone (the OTP goes to it) who has `wanted`,
    is not filed for by test_journeys.py and was not claimed by another test here."""
    if not _claimed:
        _claimed.update(pick_citizen(i)["id_number"] for i in range(5))
    citizen = next(c for c in citizens() if c["phone"] and c["date_of_birth"] < "2000-01-01"
                   and c["id_number"] not in _claimed and wanted(c))
    _claimed.add(citizen["id_number"])
    return citizen


def household(citizen: dict) -> list[dict]:
    return [c for c in citizens() if c["household"]["code"] == citizen["household"]["code"]]


def dossiers_of(citizen: dict, procedure_id: str) -> list[dict]:
    """The full views of every dossier of `procedure_id` filed by `citizen`, as an officer sees them."""
    listed = officer("GET", "/api/dossiers", params={"limit": 200}).json()
    held = [officer("GET", f"/api/dossiers/{d['code']}").json() for d in listed
            if d["procedure_id"] == procedure_id]
    return [d for d in held if d["applicant"]["id_number"] == citizen["id_number"]]


def confirm(sender: str, text: str) -> tuple[str, str]:
    """Confirm the summary; the receipt's text and the dossier code it carries."""
    messages = ask(sender, text)
    receipt = reply_text(messages)
    codes = [m["custom"]["receipt"]["dossier_code"] for m in messages if m.get("custom")]
    assert len(codes) == 1, receipt
    assert "PHIẾU TIẾP NHẬN" in receipt.upper() and codes[0] in receipt
    return receipt, codes[0]


def the_one_dossier(citizen: dict, procedure_id: str, code: str) -> dict:
    held = dossiers_of(citizen, procedure_id)
    assert [d["code"] for d in held] == [code]
    dossier = held[0]
    assert dossier["view"] == "full" and dossier["status"] == "received"
    return dossier


def test_extending_a_stay_typed_without_diacritics(system):
    citizen = claim(lambda c: c["temporary_address"] is not None)
    stay = citizen["temporary_address"]
    sender = new_sender()
    welcome = log_in(sender, citizen, "toi muon gia han tam tru")
    assert "đã đăng nhập" in welcome and citizen["full_name"] in welcome and "bao lâu" in welcome

    refused = reply_text(ask(sender, "gia han them 3 nam"))
    assert "tối đa 2 năm" in refused and "bao lâu" in refused  # the reason, then the question again
    refused = reply_text(ask(sender, "30 ngay"))
    assert "tính theo tháng" in refused
    summary = reply_text(ask(sender, "them 1 nam ruoi nua"))
    assert "kiểm tra lại hồ sơ gia hạn tạm trú" in summary
    assert f"Nơi tạm trú hiện tại: {stay['text']}" in summary
    assert "Thời hạn tạm trú: 1 năm 6 tháng" in summary
    assert f"Số điện thoại liên hệ: {citizen['phone']}" in summary  # from the registry, not asked
    assert "7.000 đồng" in summary and "Xác nhận và nộp" in summary

    receipt, code = confirm(sender, "dong y")
    assert "7.000 đồng" in receipt and stay["commune"] in receipt
    dossier = the_one_dossier(citizen, "gia-han-tam-tru", code)
    assert dossier["fields"] == {"form": "CT01", "stay_months": 18, "phone": citizen["phone"]}
    assert dossier["receiving_commune"]["commune_code"] == stay["commune_code"]  # where the stay is


def test_extending_needs_a_temporary_residence_to_extend(system):
    citizen = claim(lambda c: c["temporary_address"] is None)
    sender = new_sender()
    welcome = log_in(sender, citizen, "tôi muốn gia hạn tạm trú")
    assert "đã đăng nhập" in welcome and "chưa có nơi tạm trú" in welcome and "đăng ký tạm trú" in welcome
    assert "bao lâu" not in welcome
    assert "bao lâu" not in reply_text(ask(sender, "1 năm"))  # the form is closed, not waiting
    assert dossiers_of(citizen, "gia-han-tam-tru") == []


def test_permanent_residence_in_a_relatives_household(system):
    citizen = claim(lambda c: c["temporary_address"] is None and c["household"]["relation"] != "chủ hộ")
    # moving in with a grandparent or an aunt: the household of an older head in the same province
    born = int(citizen["date_of_birth"][:4])
    target = next(c for c in citizens() if c["household"]["relation"] == "chủ hộ"
                  and c["household"]["code"] != citizen["household"]["code"]
                  and int(c["date_of_birth"][:4]) <= born - 20
                  and c["permanent_address"]["province"] == citizen["permanent_address"]["province"])
    home = target["permanent_address"]
    head_id = target["household"]["head_id_number"]
    sender = new_sender()
    welcome = log_in(sender, citizen, "tôi muốn đăng ký thường trú")
    assert "đã đăng nhập" in welcome and "thường trú vào địa chỉ nào" in welcome

    refused = reply_text(ask(sender, home["detail"]))  # the ward and province forgotten
    assert "Dạ, em chưa tìm được địa chỉ này" in refused and "xã/phường" in refused
    assert "thường trú vào địa chỉ nào" in refused
    asked = reply_text(ask(sender, f"{home['detail']}, {home['commune'].lower()}, {home['province']}"))
    assert "chủ hộ" in asked and "là gì của chủ hộ" in asked
    asked = reply_text(ask(sender, "cháu ruột"))
    assert "Số định danh cá nhân" in asked and "của chủ hộ" in asked
    refused = reply_text(ask(sender, "123456789"))  # the old 9-digit ID card
    assert "chứng minh nhân dân cũ" in refused and "12 chữ số" in refused
    refused = reply_text(ask(sender, citizen["id_number"]))  # a grandchild is not the head
    assert "không phải số của anh/chị" in refused, refused
    summary = reply_text(ask(sender, f"số của ông là {head_id}"))
    assert "kiểm tra lại hồ sơ đăng ký thường trú" in summary
    assert f"Nơi đề nghị đăng ký thường trú: {home['text']}" in summary
    assert "Quan hệ với chủ hộ: cháu" in summary and f"Số định danh của chủ hộ: {head_id}" in summary
    assert "10.000 đồng" in summary

    receipt, code = confirm(sender, "xác nhận")
    assert "10.000 đồng" in receipt and home["commune"] in receipt
    dossier = the_one_dossier(citizen, "dang-ky-thuong-tru", code)
    fields = dossier["fields"]
    assert set(fields) == {"form", "address", "head_relation", "head_id_number", "phone"}
    assert fields["form"] == "CT01" and fields["phone"] == citizen["phone"]
    assert fields["head_relation"] == "cháu" and fields["head_id_number"] == head_id
    assert fields["address"]["commune_code"] == home["commune_code"]
    assert fields["address"]["detail"] == home["detail"] and fields["address"]["text"] == home["text"]
    assert dossier["receiving_commune"]["commune_code"] == home["commune_code"]  # the new place


def test_splitting_a_household_with_spouse_and_child(system):
    def son_with_a_family(c: dict) -> bool:
        relations = {m["household"]["relation"] for m in household(c)}
        return c["household"]["relation"] == "con" and "con dâu" in relations and "cháu" in relations

    citizen = claim(son_with_a_family)
    family = household(citizen)
    wife = next(m["id_number"] for m in family if m["household"]["relation"] == "con dâu")
    child = next(m["id_number"] for m in family if m["household"]["relation"] == "cháu")
    sender = new_sender()
    welcome = log_in(sender, citizen, "tôi muốn tách hộ")
    assert "đã đăng nhập" in welcome and "chuyển sang hộ mới" in welcome

    refused = reply_text(ask(sender, f"{citizen['id_number']}, {wife}"))
    assert "Dạ, không cần ghi số của chính anh/chị" in refused and "hộ mới" in refused
    refused = reply_text(ask(sender, f"{wife[:-1]}, {child}"))  # a digit left out
    assert f"số thứ 1 ({wife[:-1]})" in refused and "12 chữ số" in refused
    summary = reply_text(ask(sender, f"vợ tôi {wife} và con tôi {child}"))
    assert "kiểm tra lại hồ sơ tách hộ" in summary
    assert f"Thành viên cùng chuyển sang hộ mới: {wife}, {child}" in summary
    assert citizen["permanent_address"]["text"] in summary and "5.000 đồng" in summary

    receipt, code = confirm(sender, "đồng ý")
    assert "5.000 đồng" in receipt
    dossier = the_one_dossier(citizen, "tach-ho", code)
    assert dossier["fields"] == {"form": "CT01", "members": [wife, child], "phone": citizen["phone"]}
    assert dossier["receiving_commune"]["commune_code"] == citizen["permanent_address"]["commune_code"]


def test_residence_confirmation_for_a_job_application(system):
    citizen = claim(lambda c: c["temporary_address"] is None)
    sender = new_sender()
    welcome = log_in(sender, citizen, "tôi muốn xin giấy xác nhận cư trú")
    assert "đã đăng nhập" in welcome and "CT07" in welcome and "để làm gì" in welcome

    refused = reply_text(ask(sender, "cv"))
    assert "ngắn quá" in refused and "CT07" in refused
    reason = "Bổ sung hồ sơ xin việc ở Công ty Than Hà Lầm"
    offered = ask(sender, reason)
    summary = reply_text(offered)
    assert "kiểm tra lại hồ sơ xác nhận thông tin về cư trú" in summary
    assert f"Mục đích xác nhận: {reason}" in summary
    assert f"Nơi thường trú: {citizen['permanent_address']['text']}" in summary and "miễn phí" in summary
    button = next(b for m in offered for b in m.get("buttons", []) if b["title"] == "Xác nhận và nộp")

    receipt, code = confirm(sender, button["payload"])  # the kiosk's button
    assert reason in receipt
    dossier = the_one_dossier(citizen, "xac-nhan-thong-tin-cu-tru", code)
    assert dossier["fields"] == {"form": "CT01", "reason": reason, "phone": citizen["phone"]}
    assert dossier["receiving_commune"]["commune_code"] == citizen["permanent_address"]["commune_code"]


def test_the_logs_checked_are_those_of_the_running_system(system):
    """The crash check above reads the files the system writes (scripts/run.py's var/logs)."""
    assert all(Path(path).exists() and Path(path).stat().st_size > 0 for path in LOGS)
