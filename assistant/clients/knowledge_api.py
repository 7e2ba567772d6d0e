"""Client for the FastAPI knowledge-base search (`GET /api/kb/answer`).

The action server runs on Python 3.10 beside Rasa; the embedding model and FAISS run in
the services environment (Python 3.11, torch). A short timeout and one retry on network
errors and 5xx keep a conversation from hanging; the caller falls back to its local BM25
index when the service cannot answer.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp


class KnowledgeApiError(Exception):
    """The search service did not give a usable answer (down, slow, 5xx, bad body)."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class RemoteHit:
    procedure_id: str | None
    faq_id: str | None
    aspect: str | None
    title: str
    score: float


@dataclass(frozen=True)
class RemoteDecision:
    kind: str  # answer | choices | unknown
    hits: tuple[RemoteHit, ...]


async def decide(base_url: str, question: str, timeout_s: float = 2.5, attempts: int = 2,
                 backoff_s: float = 0.3) -> RemoteDecision:
    url = f"{base_url.rstrip('/')}/api/kb/answer"
    last_error: Exception | None = None
    for attempt in range(attempts):
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
                async with session.get(url, params={"q": question}) as response:
                    if response.status >= 500:
                        raise KnowledgeApiError(f"search service answered {response.status}")
                    if response.status != 200:  # 4xx: retrying will not help
                        raise KnowledgeApiError(f"search service refused the question ({response.status})",
                                                retryable=False)
                    return _decision(await response.json())
        except KnowledgeApiError as error:
            if not error.retryable:
                raise
            last_error = error
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            last_error = error
        if attempt + 1 < attempts:
            await asyncio.sleep(backoff_s * (2 ** attempt))
    raise KnowledgeApiError(f"search service unavailable: {type(last_error).__name__}")


def _decision(body: dict) -> RemoteDecision:
    try:
        return RemoteDecision(body["decision"], tuple(
            RemoteHit(h.get("procedure_id"), h.get("faq_id"), h.get("aspect"), h["title"], float(h["score"]))
            for h in body["hits"]))
    except (KeyError, TypeError, ValueError) as error:
        raise KnowledgeApiError("search service sent an unexpected body") from error
