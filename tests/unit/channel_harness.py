"""What the Zalo and Messenger webhook tests share: the channel's blueprint served by a
real Sanic server on a free local port (as Rasa serves it), a fake platform API (a small
aiohttp server) that answers from a script and records every request, and a fake Rasa
(`on_new_message`) that records the messages and answers through the output channel it
was handed, the way Rasa's processor does (`send_response`)."""
from __future__ import annotations

import asyncio
import itertools
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "channels"
_app_numbers = itertools.count()
# Sanic rewrites some of its own methods when an app starts; in test mode it keeps the
# originals, so that several apps can start one after the other in one process.
Sanic.test_mode = True


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def to_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Reply:
    status: int
    body: Any = None


@dataclass
class FakeApi:
    """Answers each path with its scripted replies in turn (the last one repeats; an
    unscripted path gets 200 `default`) and keeps what it received."""

    script: dict[str, list[Reply]] = field(default_factory=dict)
    default: Any = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        entry: dict[str, Any] = {"path": request.path, "headers": dict(request.headers),
                                 "query": dict(request.query), "raw": raw}
        if request.content_type == "application/x-www-form-urlencoded":
            entry["form"] = dict(await request.post())
        else:
            entry["json"] = json.loads(raw) if raw else None
        self.received.append(entry)
        replies = self.script.get(request.path) or [Reply(200, self.default)]
        reply = replies[min(len(self.at(request.path)), len(replies)) - 1]
        return web.json_response(reply.body, status=reply.status)

    def at(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.received if r["path"] == path]


Answer = Callable[[UserMessage], Awaitable[None]]


@dataclass
class FakeRasa:
    """Stands for `agent.handle_message`: records, then answers with `answer` if given."""

    answer: Answer | None = None
    messages: list[UserMessage] = field(default_factory=list)

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        if self.answer is not None:
            await self.answer(message)


def answer_with(*responses: dict[str, Any]) -> Answer:
    """A fake Rasa turn that sends `responses` as Rasa would (copies: send_response pops keys)."""
    async def answer(message: UserMessage) -> None:
        for item in responses:
            await message.output_channel.send_response(message.sender_id, json.loads(json.dumps(item)))
    return answer


@dataclass
class Harness:
    webhook: str
    api: FakeApi
    rasa: FakeRasa
    channel: Any
    session: aiohttp.ClientSession

    async def post(self, body: bytes | AsyncIterator[bytes], headers: dict[str, str] | None = None
                   ) -> tuple[int, str]:
        async with self.session.post(self.webhook, data=body,
                                     headers={"Content-Type": "application/json", **(headers or {})}) as r:
            return r.status, await r.text()

    async def get(self, params: dict[str, str]) -> tuple[int, str]:
        async with self.session.get(self.webhook, params=params) as r:
            return r.status, await r.text()

    async def settle(self) -> None:
        """Waits until the channel has handled what it acknowledged."""
        await self.channel.wait_idle(10)


def run(scenario: Callable[[Harness], Awaitable[Any]], make_channel: Callable[[str], Any],
        script: dict[str, list[Reply]] | None = None, answer: Answer | None = None,
        default_reply: Any = None) -> Any:
    """Serves the fake API, then the channel made for its base URL, runs `scenario`."""
    async def main() -> Any:
        api = FakeApi(script or {}, default_reply if default_reply is not None else {})
        api_app = web.Application()
        api_app.router.add_route("*", "/{tail:.*}", api.handle)
        runner = web.AppRunner(api_app)
        await runner.setup()
        api_port = free_port()
        await web.TCPSite(runner, "127.0.0.1", api_port).start()
        channel = make_channel(f"http://127.0.0.1:{api_port}")
        rasa = FakeRasa(answer)
        app = Sanic(f"channel_test_{next(_app_numbers)}", configure_logging=False)
        app.blueprint(channel.blueprint(rasa), url_prefix=f"/webhooks/{channel.name()}")
        port = free_port()
        server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                         access_log=False)
        await server.startup()
        try:
            async with aiohttp.ClientSession() as session:
                harness = Harness(f"http://127.0.0.1:{port}/webhooks/{channel.name()}/webhook",
                                  api, rasa, channel, session)
                result = await scenario(harness)
                await harness.settle()
                return result
        finally:
            await server.before_stop()
            server.close()
            await server.wait_closed()
            await runner.cleanup()

    return asyncio.run(main())


async def chunked(body: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    """A request body sent without Content-Length (chunked transfer encoding)."""
    for start in range(0, len(body), size):
        yield body[start:start + size]
