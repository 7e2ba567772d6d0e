"""The pieces both channels share: a rate limiter whose memory stays bounded under a flood of
new sender ids, text splitting within a platform's limit, settings from quoted placeholders,
and pseudonyms that do not reveal the id."""
from __future__ import annotations

import asyncio

import pytest

from connectors.common import (
    BoundedSet,
    ChannelLimits,
    RateLimiter,
    Verdict,
    platform_id,
    pseudonym,
    read_body,
    resolve,
    split_text,
    too_long_reply,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_sender_gets_its_burst_then_its_pace_and_is_told_once():
    clock = Clock()
    limiter = RateLimiter(burst=2, per_minute=30, capacity=100, clock=clock)
    assert [limiter.check("zalo:a") for _ in range(4)] == [
        Verdict.ALLOWED, Verdict.ALLOWED, Verdict.LIMITED_NOTIFY, Verdict.LIMITED]
    assert limiter.check("facebook:a") is Verdict.ALLOWED, "the same id on another channel is another sender"
    clock.now += 2.0  # 30 a minute: one every 2 seconds
    assert limiter.check("zalo:a") is Verdict.ALLOWED
    assert limiter.check("zalo:a") is Verdict.LIMITED_NOTIFY, "told again after having been allowed"


def test_a_flood_of_new_sender_ids_cannot_grow_the_limiters_memory():
    limiter = RateLimiter(burst=1, per_minute=1, capacity=500, clock=Clock())
    for n in range(20_000):
        limiter.check(f"zalo:{n}")
    assert len(limiter) == 500
    seen = BoundedSet[str](300)
    assert all(seen.add(f"m{n}") for n in range(5_000)) and len(seen) == 300
    assert not seen.add("m4999") and seen.add("m0"), "the oldest were forgotten, the newest kept"


@pytest.mark.parametrize("limit", [20, 100, 2000])
def test_split_text_keeps_every_word_within_the_limit(limit: int):
    text = "\n\n".join(f"Đoạn {p}: " + " ".join(f"từ{p}_{w}" for w in range(150)) for p in range(6))
    parts = split_text(text, limit)
    assert all(0 < len(part) <= limit for part in parts)
    assert " ".join(parts).split() == text.split()
    assert split_text("x" * 45, 20) == ["x" * 20, "x" * 20, "x" * 5]
    assert split_text("  ", 20) == []


def test_settings_resolve_quoted_placeholders_and_fall_back_to_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TEST_CHANNEL_SECRET", "s3cret")
    monkeypatch.delenv("TEST_CHANNEL_UNSET", raising=False)
    monkeypatch.setenv("TEST_CHANNEL_EMPTY", "")
    assert resolve({"k": "${TEST_CHANNEL_SECRET}"}, "k", "IGNORED") == "s3cret"
    assert resolve({"k": "${TEST_CHANNEL_UNSET}"}, "k", "TEST_CHANNEL_SECRET") is None, "the key wins when present"
    assert resolve({"k": "${TEST_CHANNEL_EMPTY}"}, "k", None, "default") == "default"
    assert resolve({}, "k", "TEST_CHANNEL_SECRET") == "s3cret"
    assert resolve(None, "k", "TEST_CHANNEL_UNSET") is None
    assert resolve({"k": "already-expanded-by-rasa"}, "k", None) == "already-expanded-by-rasa"
    monkeypatch.setenv("MAX_MESSAGE_CHARS", "1500")
    monkeypatch.setenv("CHANNEL_RATE_BURST", "not a number")
    limits = ChannelLimits.from_credentials({"rate_per_minute": "12"})
    assert (limits.max_message_chars, limits.rate_burst, limits.rate_per_minute) == (1500, 5, 12.0)


def test_pseudonyms_are_stable_and_do_not_contain_the_id():
    assert pseudonym("zalo:2468458835296117922") == pseudonym("zalo:2468458835296117922")
    assert pseudonym("zalo:2468458835296117922") != pseudonym("zalo:2468458835296117923")
    assert "2468458835296117922" not in pseudonym("zalo:2468458835296117922")


def test_platform_ids_never_cross_channels():
    assert platform_id("zalo", "zalo:123") == "123"
    assert platform_id("zalo", "123") == "123"
    assert platform_id("zalo", "facebook:123") is None
    assert platform_id("facebook", "facebook:") is None


def test_the_polite_reply_names_the_limit_the_vietnamese_way():
    assert "1.000 ký tự" in too_long_reply(1000)


class _Stream:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.reads = 0

    async def read(self) -> bytes | None:
        self.reads += 1
        return self.chunks.pop(0) if self.chunks else None


class _Request:
    def __init__(self, headers: dict[str, str], chunks: list[bytes]) -> None:
        self.headers = headers
        self.stream = _Stream(chunks)


def test_a_body_declared_too_large_is_refused_without_reading_it():
    declared = _Request({"content-length": "5000"}, [b"x" * 5000])
    assert asyncio.run(read_body(declared, 4096)) is None and declared.stream.reads == 0
    undeclared = _Request({}, [b"x" * 3000, b"x" * 3000, b"x" * 3000])
    assert asyncio.run(read_body(undeclared, 4096)) is None and undeclared.stream.reads == 2, "stops at the limit"
    fine = _Request({"content-length": "6"}, [b"{", b"}", b"    "])
    assert asyncio.run(read_body(fine, 4096)) == b"{}    "
