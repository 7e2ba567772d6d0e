"""The action server's free-question path: the semantic search service decides; when it
is down, the local BM25 index answers so that the citizen still gets help."""
import asyncio
import socket
from dataclasses import replace

from aiohttp import web
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge_actions
from actions.knowledge_actions import answer_by_search, knowledge_service


def tracker(text: str) -> Tracker:
    return Tracker("test", {}, {"text": text, "intent": {"name": "ask_general", "confidence": 0.9},
                                "entities": []}, [], False, None, {}, "action_listen")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_with_api(api_url: str, text: str) -> tuple[CollectingDispatcher, list]:
    service = knowledge_service()
    service = replace(service, settings=replace(service.settings, api_url=api_url))
    dispatcher = CollectingDispatcher()
    events = asyncio.run(answer_by_search(service, tracker(text), dispatcher, "general"))
    return dispatcher, events


def test_service_down_falls_back_to_bm25_and_still_answers():
    dispatcher, events = run_with_api(f"http://127.0.0.1:{closed_port()}", "lệ phí đăng ký tạm trú")
    assert dispatcher.messages, "no reply when the search service is down"
    reply = dispatcher.messages[0]
    assert reply.get("text") or reply.get("buttons")
    assert reply.get("response") != "utter_cannot_answer"


def test_service_decision_is_followed():
    async def serve_and_ask():
        async def answer(request):
            assert request.query["q"] == "câu hỏi"
            return web.json_response({"decision": "answer", "hits": [
                {"procedure_id": "dang-ky-tam-tru", "faq_id": None, "aspect": "fee",
                 "title": "Đăng ký tạm trú: Lệ phí", "text": "…", "source": "…", "score": 0.95}]})

        app = web.Application()
        app.router.add_get("/api/kb/answer", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        port = closed_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            service = knowledge_service()
            service = replace(service, settings=replace(service.settings, api_url=f"http://127.0.0.1:{port}"))
            dispatcher = CollectingDispatcher()
            events = await answer_by_search(service, tracker("câu hỏi"), dispatcher, "general")
            return dispatcher, events
        finally:
            await runner.cleanup()

    dispatcher, events = asyncio.run(serve_and_ask())
    assert "Lệ phí" in dispatcher.messages[0]["text"] or "lệ phí" in dispatcher.messages[0]["text"]
    assert events == [{"event": "slot", "timestamp": None, "name": "procedure", "value": "dang-ky-tam-tru"}]


def test_unknown_from_the_service_is_recorded_without_personal_data(tmp_path):
    async def serve_and_ask():
        async def answer(request):
            return web.json_response({"decision": "unknown", "hits": []})

        app = web.Application()
        app.router.add_get("/api/kb/answer", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        port = closed_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            service = knowledge_service()
            service = replace(service, settings=replace(service.settings, api_url=f"http://127.0.0.1:{port}"),
                              unanswered=knowledge_actions.UnansweredLog(tmp_path / "u.sqlite3"))
            dispatcher = CollectingDispatcher()
            await answer_by_search(service, tracker("số của tôi 022190001234 có sao không"), dispatcher, "general")
            return dispatcher, service.unanswered
        finally:
            await runner.cleanup()

    dispatcher, log = asyncio.run(serve_and_ask())
    assert dispatcher.messages[0]["response"] == "utter_cannot_answer"
    stored = log.recent(5)
    assert len(stored) == 1 and "022190001234" not in str(stored)
