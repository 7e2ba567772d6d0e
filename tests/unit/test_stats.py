"""The stats log for the officers' dashboard (assistant/stats.py): no text, local days; and the
action server recording every outcome, and every unanswered or low-confidence question, on
every channel."""
import asyncio
import sqlite3
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge_actions
from actions.knowledge_actions import (
    ActionAnswerGeneral,
    ActionAnswerQuestion,
    ActionClarify,
    ActionDefaultFallback,
    ActionOutOfScope,
    knowledge_service,
)
from assistant.clients import knowledge_api
from assistant.clients.knowledge_api import RemoteDecision, RemoteHit
from assistant.stats import StatsLog
from assistant.unanswered import UnansweredLog

VN = timezone(timedelta(hours=7))


def test_events_have_no_text_and_count_by_local_day(tmp_path):
    log = StatsLog(tmp_path / "s.sqlite3")
    log.record("kiosk", "ask_fee", "dang-ky-tam-tru", "answered",
               at=datetime(2026, 11, 22, 23, 30, tzinfo=VN))
    log.record("zalo", "ask_fee", "dang-ky-tam-tru", "answered",
               at=datetime(2026, 11, 22, 17, 30, tzinfo=timezone.utc))  # 00:30 on the 23rd in Vietnam
    log.record("rest", "out_of_scope", None, "unknown", at=datetime(2026, 11, 23, 8, tzinfo=VN))
    log.record("kiosk", None, "tach-ho", "submitted", at=datetime(2026, 11, 23, 9, tzinfo=VN), kind="dossier")
    rows = log.daily(date(2026, 11, 22), date(2026, 11, 23))
    assert sorted(rows) == [("2026-11-22", "kiosk", "dang-ky-tam-tru", "answered", 1),
                            ("2026-11-23", "rest", None, "unknown", 1),
                            ("2026-11-23", "zalo", "dang-ky-tam-tru", "answered", 1)]
    assert log.daily(date(2026, 11, 23), date(2026, 11, 23), kind="dossier") == [
        ("2026-11-23", "kiosk", "tach-ho", "submitted", 1)]
    assert log.daily(date(2026, 11, 24), date(2026, 11, 30)) == []
    with sqlite3.connect(tmp_path / "s.sqlite3") as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(events)")}
    assert columns == {"id", "at", "kind", "channel", "intent", "procedure_id", "outcome"}


def test_unknown_outcomes_are_refused_and_safe_record_never_raises(tmp_path):
    log = StatsLog(tmp_path / "s.sqlite3")
    with pytest.raises(ValueError):
        log.record("rest", None, None, "maybe")
    with pytest.raises(ValueError):
        log.record("rest", None, None, "answered", kind="dossier")
    broken = StatsLog(tmp_path / "a-directory")
    (tmp_path / "a-directory").mkdir()
    broken.safe_record("rest", None, None, "answered")  # logged, not raised


def test_reading_an_absent_log_creates_nothing(tmp_path):
    assert StatsLog(tmp_path / "none.sqlite3").daily(date(2026, 1, 1), date(2026, 1, 31)) == []
    assert not (tmp_path / "none.sqlite3").exists()


# ---------------------------------------------------------------- what the actions record

@pytest.fixture()
def service(tmp_path, monkeypatch):
    base = knowledge_service()
    made = replace(base, stats=StatsLog(tmp_path / "stats.sqlite3"),
                   unanswered=UnansweredLog(tmp_path / "unanswered.sqlite3"))
    monkeypatch.setattr(knowledge_actions, "knowledge_service", lambda: made)
    return made


def tracker(text: str, intent: str, channel: str, entities=(), confidence: float = 0.9) -> Tracker:
    events = [{"event": "user", "text": text, "input_channel": channel,
               "parse_data": {"intent": {"name": intent, "confidence": confidence}}}]
    return Tracker("c1", {}, {"text": text, "intent": {"name": intent, "confidence": confidence},
                              "entities": list(entities)}, events, False, None, {}, "action_listen")


def run(action, t: Tracker) -> tuple[CollectingDispatcher, list]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return dispatcher, events


def outcomes(service) -> list[tuple[str, str | None, str]]:
    return [(channel, procedure, outcome) for _, channel, procedure, outcome, _ in
            service.stats.daily(date.today() - timedelta(days=2), date.today() + timedelta(days=2))]


def fake_decision(monkeypatch, kind: str, hits=()):
    async def decide(base_url, question, **_):
        return RemoteDecision(kind, tuple(hits))

    monkeypatch.setattr(knowledge_api, "decide", decide)


def test_an_answered_aspect_is_counted_with_its_procedure(service):
    entity = {"entity": "procedure", "value": "dang-ky-tam-tru"}
    run(ActionAnswerQuestion(), tracker("lệ phí đăng ký tạm trú", "ask_fee", "zalo", [entity]))
    assert outcomes(service) == [("zalo", "dang-ky-tam-tru", "answered")]
    assert service.unanswered.rows() == []


def test_a_chosen_faq_entry_is_counted(service):
    faq_id, entry = next(iter(service.kb.faq.items()))
    run(ActionAnswerGeneral(), tracker("/ask_general", "ask_general", "kiosk",
                                       [{"entity": "faq_id", "value": faq_id}]))
    assert outcomes(service) == [("kiosk", entry.procedure, "answered")]


def test_out_of_scope_is_recorded_on_every_channel_redacted(service):
    for channel in ("kiosk", "rest", "zalo", "facebook"):
        run(ActionOutOfScope(),
            tracker("tôi tên là Lê Văn Bình, 0912345678, làm sổ đỏ", "out_of_scope", channel))
    rows = service.unanswered.rows()
    assert sorted(r["channel"] for r in rows) == ["facebook", "kiosk", "rest", "zalo"]
    assert {r["text"] for r in rows} == {"tôi tên là <TÊN>, <SỐ>, làm sổ đỏ"}
    assert {r["reason"] for r in rows} == {"out_of_scope"}
    assert sorted(outcomes(service)) == [(c, None, "unknown") for c in ("facebook", "kiosk", "rest", "zalo")]


def test_choices_are_low_confidence_and_recorded(service, monkeypatch):
    fake_decision(monkeypatch, "choices", [
        RemoteHit("dang-ky-tam-tru", None, "fee", "Đăng ký tạm trú: Lệ phí", 0.6),
        RemoteHit("gia-han-tam-tru", None, "fee", "Gia hạn tạm trú: Lệ phí", 0.55)])
    dispatcher, _ = run(ActionClarify(), tracker("tiền tạm trú", "nlu_fallback", "facebook", confidence=0.3))
    assert len(dispatcher.messages[0]["buttons"]) == 2
    assert outcomes(service) == [("facebook", "dang-ky-tam-tru", "choices")]
    [row] = service.unanswered.rows()
    assert row["reason"] == "choices:low_confidence" and row["text"] == "tiền tạm trú"


def test_unknown_answers_are_recorded(service, monkeypatch):
    fake_decision(monkeypatch, "unknown")
    dispatcher, _ = run(ActionAnswerGeneral(), tracker("làm sổ đỏ ở đâu", "ask_general", "rest"))
    assert dispatcher.messages[0]["response"] == "utter_cannot_answer"
    assert outcomes(service) == [("rest", None, "unknown")]
    assert [r["reason"] for r in service.unanswered.rows()] == ["general"]


def test_an_answer_from_the_search_is_counted(service, monkeypatch):
    fake_decision(monkeypatch, "answer", [RemoteHit("cap-the-can-cuoc", None, "fee", "Cấp thẻ: Lệ phí", 0.9)])
    run(ActionAnswerGeneral(), tracker("căn cước hết bao nhiêu tiền", "ask_general", "kiosk"))
    assert outcomes(service) == [("kiosk", "cap-the-can-cuoc", "answered")]
    assert service.unanswered.rows() == []


def test_a_passage_this_process_does_not_know_is_recorded(service, monkeypatch):
    fake_decision(monkeypatch, "answer", [RemoteHit(None, "khong-co-muc-nay", None, "?", 0.9)])
    dispatcher, _ = run(ActionAnswerGeneral(), tracker("câu hỏi lạ", "ask_general", "zalo"))
    assert dispatcher.messages[0]["response"] == "utter_cannot_answer"
    assert outcomes(service) == [("zalo", None, "unknown")]
    assert [r["reason"] for r in service.unanswered.rows()] == ["unknown_passage:general"]


def test_the_core_fallback_records_and_reverts(service):
    dispatcher, events = run(ActionDefaultFallback(), tracker("asdf qwer", "greet", "kiosk", confidence=0.2))
    assert dispatcher.messages[0]["response"] == "utter_cannot_answer"
    assert events == [{"event": "rewind", "timestamp": None}]
    assert outcomes(service) == [("kiosk", None, "fallback")]
    assert [r["reason"] for r in service.unanswered.rows()] == ["core_fallback"]


def test_a_broken_log_never_stops_the_answer(service, tmp_path, monkeypatch):
    (tmp_path / "dir.sqlite3").mkdir()
    broken = replace(service, unanswered=UnansweredLog(tmp_path / "dir.sqlite3"),
                     stats=StatsLog(tmp_path / "dir.sqlite3"))
    monkeypatch.setattr(knowledge_actions, "knowledge_service", lambda: broken)
    dispatcher, _ = run(ActionOutOfScope(), tracker("làm sổ đỏ", "out_of_scope", "rest"))
    assert dispatcher.messages[0]["response"] == "utter_out_of_scope"


def test_a_submitted_dossier_is_counted_without_the_citizen(service):
    from actions import submission

    submission._record_dossier(service, tracker("xác nhận", "affirm", "zalo"), "tach-ho", "submitted")
    submission._record_dossier(service, tracker("xác nhận", "affirm", "kiosk"), "dang-ky-tam-tru", "queued")
    today = date.today()
    rows = service.stats.daily(today - timedelta(days=2), today + timedelta(days=2), kind="dossier")
    assert sorted((c, p, o) for _, c, p, o, _ in rows) == [("kiosk", "dang-ky-tam-tru", "queued"),
                                                           ("zalo", "tach-ho", "submitted")]
    assert outcomes(service) == []  # not counted as questions
