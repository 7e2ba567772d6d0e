"""action_notify_drafts, run by Rasa when the outbox worker asks: it tells this
conversation, and no other, which of its drafts were sent to the portal, each once."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import notify_actions
from actions.knowledge_actions import knowledge_service
from assistant.dossiers import outbox as ob

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
PAYLOAD = {"fields": {"form": "CT01", "stay_months": 12}, "commune_code": 22315}
ZALO, FACEBOOK = "zalo:2468458835296117922", "facebook:7312458809124563"


@pytest.fixture
def box(tmp_path, monkeypatch) -> ob.Outbox:
    service = knowledge_service()
    service = replace(service, settings=replace(service.settings, outbox_db=tmp_path / "outbox.sqlite3"))
    monkeypatch.setattr(notify_actions, "knowledge_service", lambda: service)
    return ob.Outbox(service.settings.outbox_db)


def sent(box: ob.Outbox, key: str, conversation: str | None, minute: int, code: str | None,
         procedure_id: str = "dang-ky-tam-tru") -> ob.OutboxEntry:
    """An entry kept while the portal was down, then sent by the worker as `code` (None: still pending)."""
    entry = box.put(key, procedure_id, "tok", PAYLOAD, "down", NOW + timedelta(minutes=minute),
                    owner="022190001234", conversation=conversation)
    if code:
        box.mark(entry.draft_reference, ob.SUBMITTED, NOW, None, code)
    return box.get(entry.draft_reference)


def notify(conversation: str) -> tuple[list[dict], list[dict]]:
    """Runs the action in `conversation`: its messages and events."""
    tracker = Tracker(conversation, {}, {}, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(notify_actions.ActionNotifyDrafts().run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def test_only_this_conversations_sent_drafts_are_announced_once(box) -> None:
    first = sent(box, "a1b2c3d4-0001", ZALO, 0, "H22.06.685-261122-0001")
    second = sent(box, "b1b2c3d4-0002", ZALO, 1, "H22.06.685-261122-0002", procedure_id="tach-ho")
    waiting = sent(box, "c1b2c3d4-0003", ZALO, 2, None)
    theirs = sent(box, "d1b2c3d4-0004", FACEBOOK, 3, "H22.06.685-261122-0004")
    messages, events = notify(ZALO)
    names = {p: knowledge_service().kb.procedures[p].name for p in ("dang-ky-tam-tru", "tach-ho")}
    assert [m["text"] for m in messages] == [
        f"Dạ, hồ sơ tạm {first.draft_reference} ({names['dang-ky-tam-tru']}) đã được gửi lên Cổng dịch vụ "
        "công với mã H22.06.685-261122-0001. Anh/chị nhắn \"tra cứu hồ sơ H22.06.685-261122-0001\" để xem "
        "tình trạng.",
        f"Dạ, hồ sơ tạm {second.draft_reference} ({names['tach-ho']}) đã được gửi lên Cổng dịch vụ công với "
        "mã H22.06.685-261122-0002. Anh/chị nhắn \"tra cứu hồ sơ H22.06.685-261122-0002\" để xem tình trạng."]
    assert events == [{"event": "slot", "timestamp": None, "name": "last_dossier_reference",
                       "value": "H22.06.685-261122-0002"}]
    everything = " ".join(m["text"] for m in messages)
    assert waiting.draft_reference not in everything and theirs.draft_reference not in everything
    assert "261122-0004" not in everything
    assert box.get(first.draft_reference).notified and not box.get(theirs.draft_reference).notified
    assert notify(ZALO) == ([], [])  # asked again (a retry after a timeout): nothing said twice
    [message], _ = notify(FACEBOOK)
    assert theirs.draft_reference in message["text"] and "261122-0004" in message["text"]


@pytest.mark.parametrize("conversation", ["kiosk:7f3a9c", "rest-user-1", "zalo:999", ZALO.upper()])
def test_other_conversations_hear_nothing(box, conversation) -> None:
    entry = sent(box, "a1b2c3d4-0005", ZALO, 0, "H22.06.685-261122-0005")
    assert notify(conversation) == ([], [])
    assert not box.get(entry.draft_reference).notified


def test_a_draft_already_told_in_the_chat_or_kept_at_the_kiosk_is_not_announced(box) -> None:
    told = box.put("a1b2c3d4-0006", "dang-ky-tam-tru", "tok", PAYLOAD, "down", NOW, conversation=ZALO)
    box.mark(told.draft_reference, ob.SUBMITTED, NOW, None, "H22.06.685-261122-0006", told=True)
    kiosk = sent(box, "b1b2c3d4-0007", "kiosk:7f3a9c", 1, "H22.06.685-261122-0007")
    assert kiosk.conversation is None
    assert notify(ZALO) == ([], []) and notify("kiosk:7f3a9c") == ([], [])
