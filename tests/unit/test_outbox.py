"""The outbox keeps a confirmed dossier across failures and sends it once, with its key."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from assistant.clients.portal import Dossier, PortalAuthError, PortalRejected, PortalUnavailable
from assistant.dossiers import outbox as ob

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
PAYLOAD = {"fields": {"form": "CT01", "stay_months": 12}, "commune_code": 22315}


class ScriptedPortal:
    """Answers submissions from a script of outcomes; records what it was sent."""

    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, str, dict, str, int | None]] = []

    async def submit_dossier(self, token, procedure_id, fields, idempotency_key, commune_code=None):
        self.calls.append((token, procedure_id, fields, idempotency_key, commune_code))
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return Dossier(code="H22.06.685-261122-0001", procedure_id=procedure_id, status="received",
                       status_label="Đã tiếp nhận", created_at=NOW, updated_at=NOW, full=True)


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
