"""The action server's free-question path: the semantic search service decides; when it
is down, the local BM25 index answers so that the citizen still gets help."""
import asyncio
import socket
from dataclasses import replace

from aiohttp import web
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_actions import KnowledgeService, answer_by_search, knowledge_service
from assistant.unanswered import UnansweredLog


def tracker(text: str) -> Tracker:
    return Tracker("test", {}, {"text": text, "intent": {"name": "ask_general", "confidence": 0.9},
                                "entities": []}, [], False, None, {}, "action_listen")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_at(api_url: str, **changes) -> KnowledgeService:
    service = knowledge_service()
    return replace(service, settings=replace(service.settings, api_url=api_url), **changes)


def ask(service: KnowledgeService, text: str) -> tuple[CollectingDispatcher, list]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(answer_by_search(service, tracker(text), dispatcher, "general"))
    return dispatcher, events


def ask_with_fake_api(body: dict, text: str, **changes) -> tuple[CollectingDispatcher, list, KnowledgeService]:
    """Serves `body` at /api/kb/answer on a free port while the action asks `text`."""
    async def run():
        async def answer(request):
            assert request.query["q"] == text
            return web.json_response(body)

        app = web.Application()
        app.router.add_get("/api/kb/answer", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            service = service_at(f"http://127.0.0.1:{port}", **changes)
            dispatcher = CollectingDispatcher()
            events = await answer_by_search(service, tracker(text), dispatcher, "general")
            return dispatcher, events, service
        finally:
            await runner.cleanup()

    return asyncio.run(run())


def test_service_down_falls_back_to_bm25_and_still_answers():
    dispatcher, _ = ask(service_at(f"http://127.0.0.1:{free_port()}"), "lệ phí đăng ký tạm trú")
    assert dispatcher.messages, "no reply when the search service is down"
    reply = dispatcher.messages[0]
    assert reply.get("text") or reply.get("buttons")
    assert reply.get("response") != "utter_cannot_answer"


def test_service_decision_is_followed():
    body = {"decision": "answer", "hits": [
        {"procedure_id": "dang-ky-tam-tru", "faq_id": None, "aspect": "fee",
         "title": "Đăng ký tạm trú: Lệ phí", "text": "…", "source": "…", "score": 0.95}]}
    dispatcher, events, _ = ask_with_fake_api(body, "câu hỏi")
    assert "lệ phí" in dispatcher.messages[0]["text"].lower()
    assert events == [{"event": "slot", "timestamp": None, "name": "procedure", "value": "dang-ky-tam-tru"}]


def test_unknown_from_the_service_is_recorded_without_personal_data(tmp_path):
    dispatcher, _, service = ask_with_fake_api(
        {"decision": "unknown", "hits": []}, "số của tôi 022190001234 có sao không",
        unanswered=UnansweredLog(tmp_path / "u.sqlite3"))
    assert dispatcher.messages[0]["response"] == "utter_cannot_answer"
    stored = service.unanswered.recent(5)
    assert len(stored) == 1 and "022190001234" not in str(stored)
