"""The portal sandbox through its HTTP API: each test gets its own SQLite file and clock."""
from __future__ import annotations

import base64
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from assistant.identity import BIRTH_PROVINCES, is_mobile_phone, parse_id_number
from assistant.settings import load_settings
from assistant.text.redact import redact
from services.portal.codes import DOSSIER_CODE, agency_code
from services.portal.fixtures.generate import OUTPUT, REFERENCE_DAY, Generator, render
from services.portal.logs import scrub_path
from services.portal.main import create_app
from services.portal.registry import fixture_problems, read_fixture
from services.portal.units import commune, communes

OFFICER = "officer-secret-for-tests"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class Clock:
    """Monday 2 March 2026, 09:00 in Vietnam, until a test moves it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def portal(tmp_path, clock: Clock, **changes) -> TestClient:
    settings = replace(load_settings(), portal_database_url=f"sqlite:///{tmp_path / 'portal.sqlite3'}",
                       portal_sandbox=True, portal_officer_token=OFFICER, portal_client_key=None,
                       portal_token_minutes=15, portal_slot_capacity=2)
    return TestClient(create_app(replace(settings, **changes), clock=clock))


@pytest.fixture
def client(tmp_path, clock):
    with portal(tmp_path, clock) as test_client:  # runs the lifespan: database and registry
        yield test_client


def adults(client: TestClient) -> list[dict]:
    return [c for c in client.get("/sandbox/citizens").json()
            if c["phone"] and date.fromisoformat(c["date_of_birth"]) < date(2000, 1, 1)]


def login(client: TestClient, id_number: str) -> str:
    assert client.post("/api/auth/otp", json={"id_number": id_number}).status_code == 200
    code = client.get("/sandbox/otp", params={"id_number": id_number}).json()["code"]
    response = client.post("/api/auth/otp/verify", json={"id_number": id_number, "code": code})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def bearer(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return headers


def submit(client: TestClient, token: str, key: str = "dossier-key-0001", **body):
    payload = {"procedure_id": "dang-ky-tam-tru", "fields": {"ly_do": "đi làm"}, **body}
    return client.post("/api/dossiers", json=payload, headers=bearer(token, key))


def officer() -> dict[str, str]:
    return {"Authorization": f"Bearer {OFFICER}"}


# --- login -----------------------------------------------------------------------------------
def test_health_counts_the_registry(client):
    assert client.get("/health").json() == {"status": "ok", "citizens": len(read_fixture_members()),
                                            "sandbox": True}


def test_otp_login_gives_a_token_for_that_citizen(client):
    citizen = adults(client)[0]
    sent = client.post("/api/auth/otp", json={"id_number": citizen["id_number"]}).json()
    assert re.fullmatch(r"\d{2}\*{6}\d{2}", sent["masked_phone"])
    assert sent["masked_phone"][:2] == citizen["phone"][:2] and sent["masked_phone"][-2:] == citizen["phone"][-2:]
    code = client.get("/sandbox/otp", params={"id_number": citizen["id_number"]}).json()["code"]
    body = client.post("/api/auth/otp/verify", json={"id_number": citizen["id_number"], "code": code}).json()
    assert body["citizen"]["name"] == citizen["full_name"]
    assert body["citizen"]["id_number"] != citizen["id_number"] and body["citizen"]["id_number"][-2:] == \
        citizen["id_number"][-2:]
    assert datetime.fromisoformat(body["expires_at"]).utcoffset() == timedelta(hours=7)
    me = client.get("/api/citizens/me", headers=bearer(body["token"])).json()
    assert me["id_number"] == citizen["id_number"] and me["permanent_address"]["commune"]
    # the code is used up
    again = client.post("/api/auth/otp/verify", json={"id_number": citizen["id_number"], "code": code})
    assert again.status_code == 401


def test_wrong_codes_count_down_then_lock_the_code(client):
    id_number = adults(client)[0]["id_number"]
    client.post("/api/auth/otp", json={"id_number": id_number})
    code = client.get("/sandbox/otp", params={"id_number": id_number}).json()["code"]
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    details = []
    for _ in range(5):
        response = client.post("/api/auth/otp/verify", json={"id_number": id_number, "code": wrong})
        assert response.status_code == 401
        details.append(response.json()["detail"])
    assert "còn 4 lần" in details[0] and "khóa" in details[-1]
    response = client.post("/api/auth/otp/verify", json={"id_number": id_number, "code": code})
    assert response.status_code == 401, "the right code must not work after 5 wrong tries"


def test_expired_code_is_refused(client, clock):
    id_number = adults(client)[1]["id_number"]
    client.post("/api/auth/otp", json={"id_number": id_number})
    code = client.get("/sandbox/otp", params={"id_number": id_number}).json()["code"]
    clock.advance(minutes=5, seconds=1)
    response = client.post("/api/auth/otp/verify", json={"id_number": id_number, "code": code})
    assert response.status_code == 401 and "hết hạn" in response.json()["detail"]


def test_code_requests_are_rate_limited(client, clock):
    id_number = adults(client)[2]["id_number"]
    for _ in range(5):
        assert client.post("/api/auth/otp", json={"id_number": id_number}).status_code == 200
        clock.advance(seconds=30)
    response = client.post("/api/auth/otp", json={"id_number": id_number})
    assert response.status_code == 429 and "10 phút" in response.json()["detail"]
    clock.advance(minutes=10)
    assert client.post("/api/auth/otp", json={"id_number": id_number}).status_code == 200


def test_a_login_expires_and_bad_tokens_get_401(client, clock):
    token = login(client, adults(client)[0]["id_number"])
    assert client.get("/api/citizens/me", headers=bearer(token)).status_code == 200
    for headers in ({}, bearer("not-a-token"), {"Authorization": "Basic abc"}):
        response = client.get("/api/citizens/me", headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    clock.advance(minutes=15)
    response = client.get("/api/citizens/me", headers=bearer(token))
    assert response.status_code == 401 and "hết hạn" in response.json()["detail"]


def test_qr_login_through_the_sandbox_vneid_page(client):
    start = client.post("/api/auth/qr").json()
    challenge = start["qr_payload"].rsplit("/sandbox/vneid/", 1)[1]
    assert start["session_id"] not in start["qr_payload"], "whoever sees the QR must not be able to poll"
    assert client.get(f"/api/auth/qr/{start['session_id']}").json() == {"status": "pending", "login": None}
    assert client.get(f"/api/auth/qr/{challenge}").status_code == 404
    citizen = adults(client)[3]
    page = client.get(f"/sandbox/vneid/{challenge}")
    assert page.status_code == 200 and "<form" in page.text and citizen["id_number"] in page.text
    approved = client.post(f"/sandbox/vneid/{challenge}/approve", data={"id_number": citizen["id_number"]})
    assert approved.status_code == 200 and citizen["full_name"] in approved.text
    first = client.get(f"/api/auth/qr/{start['session_id']}").json()
    assert first["status"] == "approved" and first["login"]["citizen"]["name"] == citizen["full_name"]
    assert client.get("/api/citizens/me", headers=bearer(first["login"]["token"])).json()["id_number"] == \
        citizen["id_number"]
    assert client.get(f"/api/auth/qr/{start['session_id']}").json() == {"status": "approved", "login": None}
    again = client.post(f"/sandbox/vneid/{challenge}/approve", data={"id_number": adults(client)[0]["id_number"]})
    assert again.status_code == 410, "a QR code approves one login only"


def test_qr_login_expires(client, clock):
    start = client.post("/api/auth/qr").json()
    challenge = start["qr_payload"].rsplit("/", 1)[1]
    clock.advance(minutes=3)
    assert client.get(f"/api/auth/qr/{start['session_id']}").json()["status"] == "expired"
    response = client.post(f"/sandbox/vneid/{challenge}/approve", data={"id_number": adults(client)[0]["id_number"]})
    assert response.status_code == 410


def test_sandbox_routes_do_not_exist_without_the_setting(tmp_path, clock):
    with portal(tmp_path, clock, portal_sandbox=False) as client:
        id_number = read_fixture_members()[0].id_number
        assert client.post("/api/auth/otp", json={"id_number": id_number}).status_code == 200
        for path in (f"/sandbox/otp?id_number={id_number}", "/sandbox/citizens", "/sandbox/vneid/abc"):
            assert client.get(path).status_code == 404, path
        assert client.post("/sandbox/vneid/abc/approve", data={"id_number": id_number}).status_code == 404
        assert client.post("/api/auth/qr").json()["qr_payload"].startswith("vneid://login?challenge=")
        assert client.get("/health").json()["sandbox"] is False


def test_client_key_is_required_when_configured(tmp_path, clock):
    with portal(tmp_path, clock, portal_client_key="kiosk-key") as client:
        id_number = read_fixture_members()[0].id_number
        assert client.post("/api/auth/otp", json={"id_number": id_number}).status_code == 401
        assert client.post("/api/auth/otp", json={"id_number": id_number},
                           headers={"X-Client-Key": "kiosk-key"}).status_code == 200
        assert client.get("/health").status_code == 200


# --- dossiers --------------------------------------------------------------------------------
def test_same_key_same_body_gives_one_dossier(client):
    token = login(client, adults(client)[0]["id_number"])
    first, second = submit(client, token), submit(client, token)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["code"] == second.json()["code"]
    assert second.headers["idempotent-replayed"] == "true"
    assert len(client.get("/api/dossiers", params={"mine": 1}, headers=bearer(token)).json()) == 1


def test_same_key_different_body_is_a_conflict(client):
    token = login(client, adults(client)[0]["id_number"])
    code = submit(client, token).json()["code"]
    response = submit(client, token, fields={"ly_do": "đi học"})
    assert response.status_code == 409 and code in response.json()["detail"]
    other = submit(client, token, key="dossier-key-0002", fields={"ly_do": "đi học"})
    assert other.status_code == 201 and other.json()["code"] != code


def test_submission_needs_an_idempotency_key_and_a_login(client):
    token = login(client, adults(client)[0]["id_number"])
    response = client.post("/api/dossiers", json={"procedure_id": "tach-ho"}, headers=bearer(token))
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["detail"]
    response = client.post("/api/dossiers", json={"procedure_id": "tach-ho"}, headers=bearer(token, "short"))
    assert response.status_code == 400
    response = client.post("/api/dossiers", json={"procedure_id": "tach-ho"},
                           headers={"Idempotency-Key": "dossier-key-0001"})
    assert response.status_code == 401
    response = client.post("/api/dossiers", json={"procedure_id": "tach-ho"},
                           headers={**officer(), "Idempotency-Key": "dossier-key-0001"})
    assert response.status_code == 403, "an officer token is not a citizen"


def test_the_applicant_is_always_the_token_holder(client):
    me, other = adults(client)[0], adults(client)[1]
    token = login(client, me["id_number"])
    body = submit(client, token, fields={"id_number": other["id_number"]}, applicant=other["id_number"],
                  citizen_id=1).json()
    assert body["applicant"]["id_number"] == me["id_number"]
    assert body["applicant"]["full_name"] == me["full_name"]


def test_dossier_code_format_agency_and_daily_sequence(client, clock):
    clock.now = datetime(2026, 3, 1, 18, 30, tzinfo=UTC)  # 01:30 on 2 March in Vietnam
    token = login(client, adults(client)[0]["id_number"])
    first = submit(client, token, commune_code=6685).json()
    second = submit(client, token, key="dossier-key-0002", commune_code=6685).json()
    assert first["code"] == "H22.06.685-260302-0001" and second["code"] == "H22.06.685-260302-0002"
    assert first["agency_code"] == "H22.06.685" and first["receiving_commune"]["commune"] == "Phường Hồng Gai"
    elsewhere = submit(client, token, key="dossier-key-0003", commune_code=7060).json()
    assert elsewhere["code"] == "H22.07.060-260302-0001", "each agency numbers its own dossiers"
    clock.advance(days=1)
    token = login(client, adults(client)[1]["id_number"])
    assert submit(client, token, commune_code=6685).json()["code"] == "H22.06.685-260303-0001"
    assert DOSSIER_CODE.fullmatch(first["code"]) and redact(f"mã {first['code']}") == "mã <MÃ_HỒ_SƠ>"
    default = submit(client, token, key="dossier-key-0009").json()
    assert default["receiving_commune"]["commune_code"] == default["applicant"]["permanent_address"]["commune_code"]


def test_agency_codes_are_unique_per_commune():
    codes = {agency_code(c) for c in communes().values()}
    assert len(codes) == len(communes()) and all(re.fullmatch(r"H\d{2}\.\d{2}\.\d{3}", c) for c in codes)


def test_only_the_owner_and_officers_see_the_full_dossier(client):
    owner, stranger = adults(client)[0], adults(client)[1]
    owner_token, stranger_token = login(client, owner["id_number"]), login(client, stranger["id_number"])
    code = submit(client, owner_token).json()["code"]
    public = {"view", "code", "procedure_id", "status", "status_label", "created_at", "updated_at"}
    for headers in ({}, bearer(stranger_token)):
        body = client.get(f"/api/dossiers/{code}", headers=headers).json()
        assert set(body) == public and body["view"] == "public"
        assert owner["id_number"] not in str(body) and "ly_do" not in str(body)
    for headers in (bearer(owner_token), officer()):
        body = client.get(f"/api/dossiers/{code}", headers=headers).json()
        assert body["view"] == "full" and body["fields"] == {"ly_do": "đi làm"}
        assert body["applicant"]["id_number"] == owner["id_number"]
    assert client.get(f"/api/dossiers/{code.lower()}", headers=bearer(owner_token)).json()["view"] == "full"
    assert client.get(f"/api/dossiers/{code}", headers=bearer("expired-or-forged")).status_code == 401
    assert client.get("/api/dossiers", params={"mine": 1}, headers=bearer(stranger_token)).json() == []
    assert client.get("/api/dossiers", headers=bearer(stranger_token)).status_code == 403
    assert [d["code"] for d in client.get("/api/dossiers", headers=officer()).json()] == [code]
    assert client.get("/api/dossiers/H22.06.685-260302-9999").status_code == 404


def test_only_officers_change_the_status(client):
    token = login(client, adults(client)[0]["id_number"])
    code = submit(client, token).json()["code"]
    move = {"status": "processing"}
    assert client.post(f"/api/dossiers/{code}/status", json=move, headers=bearer(token)).status_code == 403
    assert client.post(f"/api/dossiers/{code}/status", json=move).status_code == 401
    assert client.post(f"/api/dossiers/{code}/status", json=move, headers=officer()).status_code == 200


def test_the_status_follows_the_state_machine_with_reasons_and_history(client, clock):
    token = login(client, adults(client)[0]["id_number"])
    code = submit(client, token).json()["code"]

    def move(status: str, reason: str | None = None):
        clock.advance(hours=1)
        return client.post(f"/api/dossiers/{code}/status", json={"status": status, "reason": reason},
                           headers=officer())

    response = move("approved")
    assert response.status_code == 409 and "Đã tiếp nhận" in response.json()["detail"]
    assert move("processing").status_code == 200
    response = move("needs_supplement")
    assert response.status_code == 422 and "lý do" in response.json()["detail"]
    assert move("needs_supplement", "Bổ sung giấy tờ chứng minh chỗ ở hợp pháp").status_code == 200
    assert move("approved").status_code == 409
    assert move("processing").status_code == 200
    assert move("approved").status_code == 200
    assert move("rejected", "muộn").status_code == 409
    assert move("result_returned").status_code == 200
    assert move("processing").status_code == 409
    assert move("archived").status_code == 422
    body = client.get(f"/api/dossiers/{code}", headers=officer()).json()  # the citizen's login has expired
    assert [h["status"] for h in body["history"]] == [
        "received", "processing", "needs_supplement", "processing", "approved", "result_returned"]
    assert body["history"][2]["reason"] == "Bổ sung giấy tờ chứng minh chỗ ở hợp pháp"
    times = [datetime.fromisoformat(h["at"]) for h in body["history"]]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert body["status"] == "result_returned" and body["updated_at"] == body["history"][-1]["at"]
    public = client.get(f"/api/dossiers/{code}").json()
    assert public["status_label"] == "Đã trả kết quả"


def test_rejection_needs_a_reason_and_is_final(client):
    token = login(client, adults(client)[0]["id_number"])
    code = submit(client, token).json()["code"]
    url = f"/api/dossiers/{code}/status"
    assert client.post(url, json={"status": "rejected", "reason": "  "}, headers=officer()).status_code == 422
    assert client.post(url, json={"status": "rejected", "reason": "Không thuộc thẩm quyền"},
                       headers=officer()).status_code == 200
    assert client.post(url, json={"status": "processing"}, headers=officer()).status_code == 409


def test_an_officer_token_is_needed_to_be_an_officer(tmp_path, clock):
    with portal(tmp_path, clock, portal_officer_token=None) as client:
        assert client.get("/api/dossiers", headers=officer()).status_code == 401


# --- attachments and validation --------------------------------------------------------------
def attachment(data: bytes, content_type: str = "image/png", name: str = "giay-to.png") -> dict:
    return {"name": name, "content_type": content_type, "data": base64.b64encode(data).decode()}


def test_attachments_are_checked_and_stored(client):
    token = login(client, adults(client)[0]["id_number"])
    body = submit(client, token, attachments=[attachment(PNG, name="C:\\Users\\a\\hop-dong.png")]).json()
    assert body["attachments"][0]["name"] == "hop-dong.png" and body["attachments"][0]["size"] == len(PNG)
    cases = [
        (attachment(PNG, "image/gif"), 415, "JPEG, PNG"),
        (attachment(b"not a pdf", "application/pdf"), 422, "không phải tệp PDF"),
        ({**attachment(PNG), "data": "***"}, 422, "base64"),
        (attachment(PNG + b"\x00" * (5 * 1024 * 1024)), 413, "5,0 MB"),
    ]
    for i, (item, status, words) in enumerate(cases):
        response = submit(client, token, key=f"attachment-case-{i}", attachments=[item])
        assert response.status_code == status and words in response.json()["detail"], response.text[:200]


def test_bad_requests_get_vietnamese_reasons(client):
    for id_number, status, words in (("12345", 422, "12 chữ số"), ("999190001234", 422, "mã tỉnh"),
                                     ("022190999999", 404, "Không tìm thấy")):
        response = client.post("/api/auth/otp", json={"id_number": id_number})
        assert response.status_code == status and words in response.json()["detail"]
    token = login(client, adults(client)[0]["id_number"])
    response = submit(client, token, procedure_id="lam-ho-chieu")
    assert response.status_code == 422 and "Không có thủ tục" in response.json()["detail"]
    response = submit(client, token, commune_code=99999)
    assert response.status_code == 422 and "99999" in response.json()["detail"]
    response = client.post("/api/dossiers", json={"procedure_id": 7, "fields": []},
                           headers=bearer(token, "dossier-key-0001"))
    assert response.status_code == 422 and "procedure_id" in response.json()["detail"]
    assert "Dữ liệu không hợp lệ" in response.json()["detail"]
    assert all("input" not in e for e in response.json()["errors"]), "what was sent is not echoed back"
    response = client.get("/api/appointments/slots", params={"commune_code": 6685, "from": "31/02/2026"})
    assert response.status_code == 422 and "from" in response.json()["detail"]


# --- appointments ----------------------------------------------------------------------------
def test_slots_are_on_working_days_with_capacity(client):
    slots = client.get("/api/appointments/slots",
                       params={"commune_code": 6685, "from": "2026-03-02", "days": 7}).json()
    days = sorted({date.fromisoformat(s["date"]) for s in slots})
    assert days == [date(2026, 3, d) for d in (3, 4, 5, 6)], "tomorrow on, no weekend"
    assert {s["period"] for s in slots} == {"morning", "afternoon"} and len(slots) == 8
    assert all(s["capacity"] == 2 and s["available"] == 2 for s in slots)
    assert "thứ ba 03/03/2026" in slots[0]["label"]
    holiday = client.get("/api/appointments/slots",
                         params={"commune_code": 6685, "from": "2026-04-29", "days": 3}).json()
    assert {s["date"] for s in holiday} == {"2026-04-29"}, "30/4 and 1/5 are holidays"
    for params, words in (({"commune_code": 6685, "from": "2026-03-01"}, "đã qua"),
                          ({"commune_code": 6685, "days": 0}, "Số ngày"),
                          ({"commune_code": 1}, "Không có xã")):
        response = client.get("/api/appointments/slots", params=params)
        assert response.status_code == 422 and words in response.json()["detail"]


def test_booking_enforces_capacity_and_one_booking_per_procedure(client):
    people = adults(client)[:3]
    tokens = [login(client, p["id_number"]) for p in people]
    slot = {"procedure_id": "cap-doi-the-can-cuoc", "commune_code": 6685, "date": "2026-03-04",
            "period": "morning"}
    first = client.post("/api/appointments", json=slot, headers=bearer(tokens[0]))
    assert first.status_code == 201 and first.json()["status"] == "booked"
    assert client.post("/api/appointments", json=slot, headers=bearer(tokens[0])).json()["id"] == first.json()["id"]
    assert client.post("/api/appointments", json=slot, headers=bearer(tokens[1])).status_code == 201
    full = client.post("/api/appointments", json=slot, headers=bearer(tokens[2]))
    assert full.status_code == 409 and "đủ người" in full.json()["detail"]
    slots = client.get("/api/appointments/slots",
                       params={"commune_code": 6685, "from": "2026-03-04", "days": 1}).json()
    assert [(s["period"], s["available"]) for s in slots] == [("morning", 0), ("afternoon", 2)]
    other_slot = client.post("/api/appointments", json={**slot, "period": "afternoon"}, headers=bearer(tokens[0]))
    assert other_slot.status_code == 409 and "đã có lịch hẹn" in other_slot.json()["detail"]
    other_procedure = client.post("/api/appointments", json={**slot, "procedure_id": "cap-lai-the-can-cuoc",
                                                             "period": "afternoon"}, headers=bearer(tokens[0]))
    assert other_procedure.status_code == 201
    cancelled = client.post(f"/api/appointments/{first.json()['id']}/cancel", headers=bearer(tokens[0]))
    assert cancelled.json()["status"] == "cancelled"
    assert client.post("/api/appointments", json=slot, headers=bearer(tokens[2])).status_code == 201
    assert client.post(f"/api/appointments/{first.json()['id']}/cancel",
                       headers=bearer(tokens[1])).status_code == 404, "only one's own booking"


def test_booking_rejects_other_procedures_and_bad_days(client):
    token = login(client, adults(client)[0]["id_number"])
    slot = {"procedure_id": "cap-the-can-cuoc", "commune_code": 6685, "date": "2026-03-04", "period": "morning"}
    for changes, words in (({"procedure_id": "dang-ky-tam-tru"}, "thẻ căn cước"),
                           ({"date": "2026-03-07"}, "ngày làm việc"), ({"date": "2026-03-02"}, "ngày mai"),
                           ({"date": "2026-06-30"}, "60 ngày"), ({"dossier_code": "H22.06.685-260302-0001"}, "khớp")):
        response = client.post("/api/appointments", json={**slot, **changes}, headers=bearer(token))
        assert response.status_code == 422 and words in response.json()["detail"], changes
    response = client.post("/api/appointments", json={**slot, "period": "evening"}, headers=bearer(token))
    assert response.status_code == 422 and "period" in response.json()["detail"]
    assert client.post("/api/appointments", json=slot).status_code == 401


# --- the registry fixture ---------------------------------------------------------------------
def read_fixture_members():
    return [m for h in read_fixture() for m in h.members]


def test_fixture_is_a_sound_registry():
    households = read_fixture()
    members = read_fixture_members()
    assert len(members) >= 50 and len({m.id_number for m in members}) == len(members)
    assert fixture_problems(households) == []
    for m in members:
        number = parse_id_number(m.id_number)
        assert m.id_number[:3] in BIRTH_PROVINCES
        assert int(m.id_number[3]) == 2 * ((m.date_of_birth.year - 1900) // 100) + (m.sex == "nữ")
        assert m.id_number[4:6] == f"{m.date_of_birth.year % 100:02d}" and number.sex == m.sex
        assert m.phone is None or is_mobile_phone(m.phone)
    addresses = [h.address for h in households] + [m.temporary_address for m in members if m.temporary_address]
    for address in addresses:
        unit = commune(address.commune_code)
        assert unit is not None and (unit.name, unit.province) == (address.commune, address.province)
    for household in households:
        assert [m.relation for m in household.members].count("chủ hộ") == 1
    ages = [(REFERENCE_DAY - m.date_of_birth).days // 365 for m in members]
    assert sum(a < 18 for a in ages) >= 5 and sum(a >= 65 for a in ages) >= 5
    assert sum(h.address.province == "Quảng Ninh" for h in households) > len(households) / 2
    assert sum(m.temporary_address is not None for m in members) >= 5
    assert all(m.phone for m, age in zip(members, ages) if age >= 18)


def test_fixture_file_is_the_generators_output():
    assert OUTPUT.read_text(encoding="utf-8") == render(Generator().registry()), \
        "residents.yml differs from generate.py's output: regenerate it, never edit by hand"


def test_fixture_problems_are_found():
    household = read_fixture()[0]
    member = household.members[0]
    wrong_year = replace(member, date_of_birth=member.date_of_birth.replace(year=member.date_of_birth.year - 1))
    wrong_place = replace(household.address, commune="Phường Không Có")
    problems = fixture_problems([replace(household, address=wrong_place, members=(wrong_year,))])
    assert any("năm sinh" in p for p in problems) and any("Phường Không Có" in p for p in problems)


def test_access_log_paths_keep_no_personal_data_or_session_ids():
    assert scrub_path("/sandbox/otp?id_number=022190001234") == "/sandbox/otp?…"
    assert scrub_path("/api/auth/qr/" + "a" * 43) == "/api/auth/qr/…"
    assert scrub_path("/api/dossiers/H22.06.685-260302-0001") == "/api/dossiers/H22.06.685-260302-0001"
