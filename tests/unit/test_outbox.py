"""The outbox keeps a confirmed dossier across failures and sends it once, with its key;
a dossier whose login ran out is sent again only by its owner, logged in again."""
from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import tracking_actions
from actions.knowledge_actions import knowledge_service
from assistant.clients.portal import Dossier, PortalAuthError, PortalRejected, PortalUnavailable
from assistant.dossiers import outbox as ob

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
PAYLOAD = {"fields": {"form": "CT01", "stay_months": 12}, "commune_code": 22315}
OWNER, OTHER = "022190001234", "001085004321"


class ScriptedPortal:
    """Answers submissions from a script of outcomes; records what it was sent. Like the
    portal, a key already used gives back the dossier it created, never a second one."""

    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, str, dict, str, int | None]] = []
        self.filed: dict[str, Dossier] = {}

    async def submit_dossier(self, token, procedure_id, fields, idempotency_key, commune_code=None):
        self.calls.append((token, procedure_id, fields, idempotency_key, commune_code))
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome
        if idempotency_key not in self.filed:
            self.filed[idempotency_key] = Dossier(
                code=f"H22.06.685-261122-{len(self.filed) + 1:04d}", procedure_id=procedure_id,
                status="received", status_label="Đã tiếp nhận", created_at=NOW, updated_at=NOW, full=True)
        return self.filed[idempotency_key]

    async def get_dossier(self, code, token=None):
        return next(d for d in self.filed.values() if d.code == code)

    async def my_dossiers(self, token):
        return list(self.filed.values())


def test_the_same_key_is_kept_once(tmp_path) -> None:
    box = ob.Outbox(tmp_path / "outbox.sqlite3")
    first = box.put("a1b2c3d4e5f6", "dang-ky-tam-tru", "tok", PAYLOAD, "down", NOW)
    again = box.put("a1b2c3d4e5f6", "dang-ky-tam-tru", "tok", PAYLOAD, "down again", NOW)
    assert first == again and first.draft_reference == "NHAP-A1B2C3D4"
    assert [e.draft_reference for e in box.pending()] == ["NHAP-A1B2C3D4"]


def test_pending_until_the_portal_answers_then_sent_with_the_same_key(tmp_path) -> None:
    box = ob.Outbox(tmp_path / "outbox.sqlite3")
    box.put("key-0001-abcd", "dang-ky-tam-tru", "tok", PAYLOAD, "down", NOW)
    portal = ScriptedPortal(PortalUnavailable("still down"), None)
    assert asyncio.run(ob.drain(box, portal)) == {ob.PENDING: 1}
    assert asyncio.run(ob.drain(box, portal)) == {ob.SUBMITTED: 1}
    assert asyncio.run(ob.drain(box, portal)) == {}  # nothing left: never sent twice
    assert [c[3] for c in portal.calls] == ["key-0001-abcd", "key-0001-abcd"]
    assert portal.calls[0][2] == PAYLOAD["fields"] and portal.calls[0][4] == 22315
    entry = box.get("nhap-key0001a")
    assert entry.status == ob.SUBMITTED and entry.dossier_code == "H22.06.685-261122-0001"
    assert entry.attempts == 3 and entry.token is None  # the login token is not kept after use


def test_an_expired_login_or_a_refusal_stops_the_retries(tmp_path) -> None:
    box = ob.Outbox(tmp_path / "outbox.sqlite3")
    box.put("expired-login-1", "dang-ky-tam-tru", "tok", PAYLOAD, "down", NOW)
    box.put("refused-by-portal", "tach-ho", "tok", PAYLOAD, "down", NOW)
    portal = ScriptedPortal(PortalAuthError("token expired", 401), PortalRejected("thiếu trường", 422))
    assert asyncio.run(ob.drain(box, portal)) == {ob.NEEDS_LOGIN: 1, ob.REJECTED: 1}
    assert box.pending() == []
    assert box.get(ob.draft_reference("refused-by-portal")).last_error == "thiếu trường"


def test_the_outbox_survives_a_restart(tmp_path) -> None:
    ob.Outbox(tmp_path / "outbox.sqlite3").put("survives-1234", "dang-ky-tam-tru", "tok", PAYLOAD,
                                               "down", NOW)
    reopened = ob.Outbox(tmp_path / "outbox.sqlite3")
    assert [e.idempotency_key for e in reopened.pending()] == ["survives-1234"]


# --- owners ------------------------------------------------------------------------------

def waiting_for_login(box: ob.Outbox, key: str, owner: str | None = OWNER,
                      procedure_id: str = "dang-ky-tam-tru") -> ob.OutboxEntry:
    """An entry whose login ran out while the portal was down (its token is dropped)."""
    entry = box.put(key, procedure_id, "old-token", PAYLOAD, "down", NOW, owner=owner)
    box.mark(entry.draft_reference, ob.NEEDS_LOGIN, NOW, "token expired")
    return box.get(entry.draft_reference)


def test_the_owner_is_kept_as_a_keyed_hash_never_the_id_number(tmp_path) -> None:
    box = ob.Outbox(tmp_path / "outbox.sqlite3")
    entry = box.put("a1b2c3d4e5f6", "dang-ky-tam-tru", "tok", PAYLOAD, "down", NOW, owner=OWNER)
    assert entry.owner and entry.owner != hashlib.sha256(OWNER.encode()).hexdigest()
    stored = b"".join(f.read_bytes() for f in tmp_path.glob("outbox.sqlite3*"))
    assert stored and OWNER.encode() not in stored
    assert box.owned_by(entry, OWNER) and not box.owned_by(entry, OTHER)
    assert not box.owned_by(entry, "") and not box.owned_by(entry, None)
    # the key is kept in the file: the same owner after a restart; another file, another key
    assert ob.Outbox(tmp_path / "outbox.sqlite3").owned_by(entry, OWNER)
    elsewhere = ob.Outbox(tmp_path / "other" / "outbox.sqlite3")
    assert elsewhere.owner_hash(OWNER) != box.owner_hash(OWNER)


def test_an_outbox_made_before_owners_is_migrated_and_its_entries_stay_unsendable(tmp_path) -> None:
    path = tmp_path / "outbox.sqlite3"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE outbox (draft_reference TEXT PRIMARY KEY, "
                "idempotency_key TEXT NOT NULL UNIQUE, procedure_id TEXT NOT NULL, token TEXT, "
                "payload TEXT NOT NULL, status TEXT NOT NULL, "
                "attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, dossier_code TEXT, "
                "created_at TEXT NOT NULL, updated_at TEXT NOT NULL)")
    old.execute("INSERT INTO outbox VALUES ('NHAP-0DD0DD00', '0dd0dd00-key', 'tach-ho', NULL, ?, ?, 2, "
                "'token expired', NULL, ?, ?)", ('{"fields": {}}', ob.NEEDS_LOGIN, NOW.isoformat(),
                                                  NOW.isoformat()))
    old.commit()
    old.close()
    box = ob.Outbox(path)
    entry = box.get("NHAP-0DD0DD00")
    assert entry is not None and entry.owner is None and entry.status == ob.NEEDS_LOGIN
    assert not box.owned_by(entry, OWNER)
    assert box.relogin("NHAP-0DD0DD00", OWNER, "new-token", NOW) is None
    assert box.get("NHAP-0DD0DD00").token is None
    assert box.put("c0ffee00-new", "tach-ho", "tok", PAYLOAD, "down", NOW, owner=OWNER).owner
    assert ob.Outbox(path).get("NHAP-0DD0DD00") == entry  # opening again changes nothing


def test_the_owner_logged_in_again_resends_with_the_same_key(tmp_path) -> None:
    box = ob.Outbox(tmp_path / "outbox.sqlite3")
    box.put("key-0001-abcd", "dang-ky-tam-tru", "old-token", PAYLOAD, "down", NOW, owner=OWNER)
    portal = ScriptedPortal(PortalAuthError("token expired", 401), None)
    assert asyncio.run(ob.drain(box, portal)) == {ob.NEEDS_LOGIN: 1}
    entry = box.get("NHAP-KEY0001A")
    assert entry.token is None and box.pending() == []  # the worker does not try again by itself
    sent = asyncio.run(ob.resend_as_owner(box, entry, OWNER, "new-token", portal))
    assert sent is not None and sent.status == ob.SUBMITTED and sent.dossier_code == "H22.06.685-261122-0001"
    assert [(c[0], c[3]) for c in portal.calls] == [("old-token", "key-0001-abcd"),
                                                    ("new-token", "key-0001-abcd")]
    assert sent.token is None and len(portal.filed) == 1
    assert box.relogin(entry.draft_reference, OWNER, "newer-token", NOW) is None  # only once it waits


def test_someone_else_cannot_resend_a_draft(tmp_path) -> None:
    box = ob.Outbox(tmp_path / "outbox.sqlite3")
    entry = waiting_for_login(box, "a1b2c3d4-0000")
    portal = ScriptedPortal()
    assert asyncio.run(ob.resend_as_owner(box, entry, OTHER, "their-token", portal)) is None
    assert portal.calls == []
    after = box.get(entry.draft_reference)
    assert after.status == ob.NEEDS_LOGIN and after.token is None


# --- the chat: "tra cứu NHAP-…" and "hồ sơ của tôi" ----------------------------------------

@pytest.fixture
def ask(tmp_path, monkeypatch):
    """Runs action_check_status on a message, against a fake portal and the test's outbox,
    logged in as `id_number` (not logged in: None); the dispatcher's messages."""
    service = knowledge_service()
    service = replace(service, settings=replace(service.settings, outbox_db=tmp_path / "outbox.sqlite3"))
    monkeypatch.setattr(tracking_actions, "knowledge_service", lambda: service)

    def run(text: str, portal: ScriptedPortal, id_number: str | None = None) -> list[dict]:
        monkeypatch.setattr(tracking_actions, "PortalClient",
                            SimpleNamespace(from_settings=lambda settings: portal))
        expires = datetime.now(timezone.utc) + timedelta(hours=1)
        slots = {"portal_token": "new-token", "portal_token_expires": expires.isoformat(),
                 "citizen": {"id_number": id_number}} if id_number else {}
        tracker = Tracker("test", slots, {"text": text, "intent": {"name": "check_status", "confidence": 0.9},
                                          "entities": []}, [], False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        asyncio.run(tracking_actions.ActionCheckStatus().run(dispatcher, tracker, {}))
        return dispatcher.messages

    return run


@pytest.fixture
def box(tmp_path) -> ob.Outbox:
    return ob.Outbox(tmp_path / "outbox.sqlite3")


def test_the_owner_logged_in_again_sends_the_draft_and_sees_its_status(ask, box) -> None:
    entry = waiting_for_login(box, "a1b2c3d4-0001")
    portal = ScriptedPortal(None)
    sent, status = ask(f"tra cứu {entry.draft_reference}", portal, OWNER)
    assert "đã được gửi" in sent["text"] and "H22.06.685-261122-0001" in sent["text"]
    assert "Đã tiếp nhận" in status["text"]
    assert portal.calls[0][0] == "new-token" and portal.calls[0][3] == "a1b2c3d4-0001"
    assert box.get(entry.draft_reference).status == ob.SUBMITTED
    again = ask(f"tra cứu {entry.draft_reference}", portal, OWNER)
    assert "đã được gửi" in again[0]["text"] and len(portal.calls) == 1  # never sent twice


@pytest.mark.parametrize("outcome, status, said", [
    (PortalUnavailable("still down"), ob.PENDING, "sẽ tự gửi"),
    (PortalRejected("Thiếu hợp đồng thuê nhà", 422), ob.REJECTED, "Thiếu hợp đồng thuê nhà"),
])
def test_a_resent_draft_still_pending_or_refused_is_reported(ask, box, outcome, status, said) -> None:
    entry = waiting_for_login(box, "a1b2c3d4-0002")
    [reply] = ask(f"tra cứu {entry.draft_reference}", ScriptedPortal(outcome), OWNER)
    assert said in reply["text"]
    after = box.get(entry.draft_reference)
    assert after.status == status
    # still pending: the worker sends it with the new token
    assert after.token == ("new-token" if status == ob.PENDING else None)


def test_another_citizen_cannot_send_someone_elses_draft(ask, box) -> None:
    entry = waiting_for_login(box, "a1b2c3d4-0003")
    portal = ScriptedPortal()
    [reply] = ask(f"tra cứu {entry.draft_reference}", portal, OTHER)
    assert "công dân khác" in reply["text"] and "không gửi được" in reply["text"]
    assert "tạm trú" not in reply["text"].lower() and not reply.get("buttons")  # nothing of its content
    assert portal.calls == [] and box.get(entry.draft_reference).status == ob.NEEDS_LOGIN


def test_without_a_login_the_draft_is_kept_and_the_login_is_offered(ask, box) -> None:
    entry = waiting_for_login(box, "a1b2c3d4-0004")
    portal = ScriptedPortal()
    [reply] = ask(f"tra cứu {entry.draft_reference}", portal)
    assert reply["buttons"] == [{"title": "Đăng nhập", "payload": "/login"}]
    assert "được giữ" in reply["text"] and f"tra cứu {entry.draft_reference}" in reply["text"]
    assert portal.calls == [] and box.get(entry.draft_reference).status == ob.NEEDS_LOGIN


def test_a_draft_kept_before_owners_cannot_be_sent_by_anyone(ask, box) -> None:
    entry = waiting_for_login(box, "a1b2c3d4-0005", owner=None)
    portal = ScriptedPortal()
    for who in (OWNER, None):
        [reply] = ask(f"tra cứu {entry.draft_reference}", portal, who)
        assert "không thể gửi lại" in reply["text"] and "khai lại" in reply["text"]
    assert portal.calls == []


def test_my_dossiers_lists_my_drafts_and_resends_only_mine(ask, box) -> None:
    mine = waiting_for_login(box, "a1b2c3d4-0006")
    waiting = box.put("b1b2c3d4-0007", "tach-ho", "old-token", PAYLOAD, "down", NOW, owner=OWNER)
    theirs = waiting_for_login(box, "c1b2c3d4-0008", owner=OTHER)
    portal = ScriptedPortal(None)
    listed, drafts = ask("hồ sơ của tôi", portal, OWNER)
    assert [(c[0], c[3]) for c in portal.calls] == [("new-token", "a1b2c3d4-0006")]
    assert "H22.06.685-261122-0001" in listed["text"]  # the portal's list already has it
    assert mine.draft_reference in drafts["text"] and "H22.06.685-261122-0001" in drafts["text"]
    assert waiting.draft_reference in drafts["text"] and "sẽ tự gửi" in drafts["text"]
    assert theirs.draft_reference not in drafts["text"] + listed["text"]
    assert box.get(theirs.draft_reference).status == ob.NEEDS_LOGIN
    assert box.get(waiting.draft_reference).token == "old-token"  # left to the worker
    assert [e.draft_reference for e in box.drafts_of(OWNER)] == [waiting.draft_reference]


# --- announcing a sent draft to its Zalo / Messenger conversation ------------------------

ZALO, FACEBOOK = "zalo:2468458835296117922", "facebook:7312458809124563"


class FakeRasa:
    """Stands for Rasa's `/execute`: records the conversations asked for and, like
    action_notify_drafts, claims their drafts; or answers from a script of outcomes
    (an exception is raised, a Notice returned without running the action)."""

    def __init__(self, box: ob.Outbox, *outcomes: Exception | ob.Notice) -> None:
        self.box, self.outcomes = box, list(outcomes)
        self.asked: list[str] = []
        self.announced: list[str] = []

    async def __call__(self, conversation: str) -> ob.Notice:
        self.asked.append(conversation)
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, Exception):
            raise outcome
        if outcome is not None:
            return outcome
        self.announced += [e.draft_reference for e in self.box.claim_announcements(conversation)]
        return ob.Notice.ASKED


@pytest.mark.parametrize("conversation, kept", [
    (ZALO, ZALO), (FACEBOOK, FACEBOOK), ("kiosk:7f3a9c", None), ("rest-user-1", None), (None, None),
    ("zalo", None), ("", None),
])
def test_only_conversations_that_can_receive_a_push_are_kept(box, conversation, kept) -> None:
    entry = box.put("a1b2c3d4-push", "dang-ky-tam-tru", "tok", PAYLOAD, "down", NOW, owner=OWNER,
                    conversation=conversation)
    assert entry.conversation == kept and entry.notified is False
    assert box.get(entry.draft_reference).conversation == kept


def test_an_outbox_made_before_conversations_is_migrated_and_its_entries_never_pushed(tmp_path) -> None:
    path = tmp_path / "outbox.sqlite3"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE outbox (draft_reference TEXT PRIMARY KEY, "
                "idempotency_key TEXT NOT NULL UNIQUE, procedure_id TEXT NOT NULL, token TEXT, "
                "payload TEXT NOT NULL, status TEXT NOT NULL, "
                "attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, dossier_code TEXT, "
                "created_at TEXT NOT NULL, updated_at TEXT NOT NULL, owner TEXT)")
    for key, status, code in (("0dd0dd01-key", ob.SUBMITTED, "H22.06.685-261122-0009"),
                              ("0dd0dd02-key", ob.PENDING, None)):
        old.execute("INSERT INTO outbox VALUES (?, ?, 'tach-ho', 'tok', ?, ?, 1, NULL, ?, ?, ?, NULL)",
                    (ob.draft_reference(key), key, '{"fields": {}}', status, code, NOW.isoformat(),
                     NOW.isoformat()))
    old.commit()
    old.close()
    box = ob.Outbox(path)
    columns = {row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(outbox)")}
    assert {"owner", "conversation", "notified"} <= columns
    sent = box.get("NHAP-0DD0DD01")
    assert sent.conversation is None and sent.notified is False and sent.dossier_code
    assert box.unannounced() == {}
    portal, rasa = ScriptedPortal(None), FakeRasa(box)
    assert asyncio.run(ob.one_pass(box, portal, rasa)) == {ob.SUBMITTED: 1}
    assert rasa.asked == [] and box.get("NHAP-0DD0DD02").status == ob.SUBMITTED
    new = box.put("c0ffee00-new", "tach-ho", "tok", PAYLOAD, "down", NOW, owner=OWNER, conversation=ZALO)
    assert new.conversation == ZALO
    assert ob.Outbox(path).get("NHAP-0DD0DD01") == sent  # opening again changes nothing


def test_the_worker_announces_each_sent_draft_once_in_its_own_conversation(box) -> None:
    def put(key: str, minute: int, conversation: str, owner: str = OWNER) -> ob.OutboxEntry:
        return box.put(key, "tach-ho", "tok", PAYLOAD, "down", NOW + timedelta(minutes=minute), owner=owner,
                       conversation=conversation)

    first, second = put("a1b2c3d4-0101", 0, ZALO), put("b1b2c3d4-0102", 1, ZALO)
    other, kiosk = put("c1b2c3d4-0103", 2, FACEBOOK, OTHER), put("d1b2c3d4-0104", 3, "kiosk:7f3a9c", OTHER)
    still_down = put("e1b2c3d4-0105", 4, FACEBOOK, OTHER)
    portal = ScriptedPortal(None, None, None, None, PortalUnavailable("down"))
    rasa = FakeRasa(box)
    counts = asyncio.run(ob.one_pass(box, portal, rasa))
    assert counts == {ob.SUBMITTED: 4, ob.PENDING: 1, "notice_announced": 3}
    assert sorted(rasa.asked) == [FACEBOOK, ZALO]  # one request per conversation, none for the kiosk
    assert sorted(rasa.announced) == sorted([first.draft_reference, second.draft_reference,
                                             other.draft_reference])
    assert all(box.get(e.draft_reference).notified for e in (first, second, other))
    assert not box.get(kiosk.draft_reference).notified and not box.get(still_down.draft_reference).notified
    assert asyncio.run(ob.one_pass(box, ScriptedPortal(PortalUnavailable("down")), rasa)) == {ob.PENDING: 1}
    assert len(rasa.asked) == 2  # nothing announced twice
    asyncio.run(ob.one_pass(box, ScriptedPortal(None), rasa))  # the last one is sent: announced then
    assert rasa.asked[2:] == [FACEBOOK] and rasa.announced[-1] == still_down.draft_reference


@pytest.mark.parametrize("failure", [
    ob.Notice.FAILED,                 # Rasa down or refusing (4xx/5xx)
    ob.Notice.ASKED,                  # Rasa answered 200 but the action did not run (action server down)
    RuntimeError("boom"),             # a notifier that raises: the worker goes on
])
def test_a_failed_announcement_is_kept_for_the_next_pass(box, caplog, failure) -> None:
    entry = box.put("a1b2c3d4-0201", "dang-ky-tam-tru", "tok", PAYLOAD, "down", NOW, owner=OWNER,
                    conversation=ZALO)
    rasa = FakeRasa(box, failure)
    caplog.set_level("INFO", logger="assistant.dossiers.outbox")
    assert asyncio.run(ob.one_pass(box, ScriptedPortal(None), rasa)) == {ob.SUBMITTED: 1, "notice_kept": 1}
    assert not box.get(entry.draft_reference).notified
    assert box.unannounced() == {ZALO: [entry.draft_reference]}
    assert asyncio.run(ob.announce(box, rasa)) == {"announced": 1}
    assert rasa.asked == [ZALO, ZALO] and rasa.announced == [entry.draft_reference]
    assert box.get(entry.draft_reference).notified
    assert "2468458835296117922" not in caplog.text and box.log_ref(ZALO) in caplog.text


def test_a_conversation_rasa_no_longer_has_is_not_asked_again(box) -> None:
    entry = box.put("a1b2c3d4-0301", "dang-ky-tam-tru", "tok", PAYLOAD, "down", NOW, owner=OWNER,
                    conversation=FACEBOOK)
    rasa = FakeRasa(box, ob.Notice.GONE)
    assert asyncio.run(ob.one_pass(box, ScriptedPortal(None), rasa)) == {ob.SUBMITTED: 1, "notice_gone": 1}
    assert box.get(entry.draft_reference).notified and asyncio.run(ob.announce(box, rasa)) == {}
    assert rasa.asked == [FACEBOOK]


def test_a_draft_sent_while_the_citizen_asks_in_the_chat_is_not_pushed_again(ask, box) -> None:
    entry = box.put("a1b2c3d4-0401", "dang-ky-tam-tru", "tok", PAYLOAD, "down", NOW, owner=OWNER,
                    conversation=ZALO)
    sent, _status = ask(f"tra cứu {entry.draft_reference}", ScriptedPortal(None))
    assert "đã được gửi" in sent["text"]
    assert box.get(entry.draft_reference).notified and box.unannounced() == {}


def test_the_log_reference_of_a_conversation_is_short_keyed_and_stable(tmp_path, box) -> None:
    ref = box.log_ref(ZALO)
    assert ref.startswith("c-") and len(ref) == 12 and "2468458835296117922" not in ref
    assert ref == ob.Outbox(box.path).log_ref(ZALO) != box.log_ref(FACEBOOK)
    assert ob.Outbox(tmp_path / "other" / "outbox.sqlite3").log_ref(ZALO) != ref


# --- the request to Rasa's HTTP API -------------------------------------------------------

def rasa_api(status: int, body: object, scenario):
    """Serves a fake Rasa `/conversations/<id>/execute` answering `status`; runs
    `scenario(url, requests)` and returns its result."""
    from aiohttp import web
    from channel_harness import free_port

    async def main():
        requests: list[dict] = []

        async def execute(request: web.Request) -> web.Response:
            requests.append({"path": request.raw_path.split("?")[0], "query": dict(request.query),
                             "json": await request.json()})
            return web.json_response(body, status=status)

        app = web.Application()
        app.router.add_post("/conversations/{conversation}/execute", execute)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            return await scenario(f"http://127.0.0.1:{port}/", requests)
        finally:
            await runner.cleanup()

    return asyncio.run(main())


@pytest.mark.parametrize("status, body, expected", [
    (200, {"tracker": {"sender_id": ZALO}}, ob.Notice.ASKED),
    (404, {"version": "3.6.21", "status": "failure", "message": "Conversation ID not found.",
           "reason": "Not found", "details": {}, "help": None, "code": 404}, ob.Notice.GONE),
    (404, {"message": "Requested URL not found"}, ob.Notice.FAILED),  # the HTTP API is not enabled
    (401, {"message": "unauthorized"}, ob.Notice.FAILED),
    (500, {"message": "An unexpected error occurred"}, ob.Notice.FAILED),
])
def test_rasa_is_asked_to_run_the_action_on_the_latest_channel(status, body, expected, caplog) -> None:
    async def scenario(url: str, requests: list[dict]):
        outcome = await ob.RasaNotifier(url, "rasa-token")(ZALO)
        assert requests == [{"path": "/conversations/zalo:2468458835296117922/execute",
                             "query": {"output_channel": "latest", "token": "rasa-token"},
                             "json": {"name": "action_notify_drafts"}}]
        return outcome

    assert rasa_api(status, body, scenario) is expected
    assert "2468458835296117922" not in caplog.text and "rasa-token" not in caplog.text


def test_without_rasa_the_notifier_fails_without_raising(caplog) -> None:
    from channel_harness import free_port

    notifier = ob.RasaNotifier(f"http://127.0.0.1:{free_port()}", None, timeout_s=2)
    assert asyncio.run(notifier("facebook:7312458809124563/../x")) is ob.Notice.FAILED
    assert "7312458809124563" not in caplog.text
