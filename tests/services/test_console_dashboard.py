"""The console's dashboard (30 days of the stats log and the outbox, as inline SVG charts and
tables, no script, no style attribute) and the "hết hiệu lực" list of the published content."""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from test_console_support import (  # noqa: F401  (kb_copy is a fixture)
    CHEAP_HASHER,
    Clock,
    World,
    console_settings,
    kb_copy,
    make_app,
)

from assistant.dossiers.outbox import SUBMITTED, Outbox
from assistant.stats import StatsLog
from services.console.auth import Console

TODAY = date(2026, 11, 23)
VN = timezone(timedelta(hours=7))


def make(tmp_path, kb_dir, today: date = TODAY) -> World:
    settings = console_settings(tmp_path, kb_dir, unanswered_db=tmp_path / "unanswered.sqlite3",
                                stats_db=tmp_path / "stats.sqlite3", outbox_db=tmp_path / "outbox.sqlite3",
                                today_override=today)
    clock = Clock()
    console = Console.create(settings, clock, CHEAP_HASHER)
    world = World(console, clock, make_app(console))
    for username, role in (("bientap", "editor"), ("duyet", "approver"), ("quantri", "admin")):
        world.officer(username, role)
    return world


@pytest.fixture()
def world(tmp_path, kb_copy):  # noqa: F811
    return make(tmp_path, kb_copy)


def at(day: date, hour: int = 10) -> datetime:
    """A moment of a local (Vietnam) day."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=VN)


def fill(world) -> None:
    settings = world.console.settings
    stats = StatsLog(settings.stats_db)
    yesterday = TODAY - timedelta(days=1)
    for _ in range(3):
        stats.record("kiosk", "ask_fee", "dang-ky-tam-tru", "answered", at=at(yesterday))
    stats.record("zalo", "ask_documents", "cap-the-can-cuoc", "answered", at=at(yesterday))
    stats.record("zalo", "ask_general", None, "unknown", at=at(yesterday))
    stats.record("facebook", "ask_general", "dang-ky-tam-tru", "choices", at=at(TODAY, 8))
    stats.record("rest", "nlu_fallback", None, "fallback", at=at(TODAY, 9))
    # 00:00 local time is 17:00 UTC the day before: it counts on the local day
    stats.record("rest", "ask_fee", "dang-ky-tam-tru", "answered", at=at(TODAY, 0))
    stats.record("kiosk", "ask_fee", "tach-ho", "answered", at=at(TODAY - timedelta(days=40)))  # too old
    stats.record("kiosk", None, "dang-ky-tam-tru", "submitted", at=at(yesterday), kind="dossier")
    # queued: counted from the outbox once sent, not from this event
    stats.record("zalo", None, "tach-ho", "queued", at=at(yesterday), kind="dossier")
    outbox = Outbox(settings.outbox_db)
    sent = outbox.put(str(uuid.uuid4()), "tach-ho", "token", {"fields": {}}, "portal down", at(yesterday))
    outbox.mark(sent.draft_reference, SUBMITTED, at(TODAY), None, "H01.02.003-261123-0001")
    outbox.put(str(uuid.uuid4()), "tach-ho", "token", {"fields": {}}, "portal down", at(TODAY))  # pending


def test_the_dashboard_counts_the_last_30_days(world):
    fill(world)
    client, _ = world.login("quantri")  # every role reads it
    body = client.get("/console/api/dashboard").json()
    assert body["first"] == "2026-10-25" and body["last"] == "2026-11-23"
    days = {d["day"]: d for d in body["questions_per_day"]}
    assert len(days) == 30
    assert days["2026-11-22"] == {"day": "2026-11-22", "kiosk": 3, "rest": 0, "zalo": 2, "facebook": 0}
    assert days["2026-11-23"] == {"day": "2026-11-23", "kiosk": 0, "rest": 2, "zalo": 0, "facebook": 1}
    assert body["total"] == 8
    assert body["outcomes"] == {"answered": 5, "choices": 1, "unknown": 1, "fallback": 1}
    assert body["answered_share"] == pytest.approx(5 / 8)
    rates = {r["day"]: r for r in body["unanswered_rate"]}
    assert rates["2026-11-22"]["rate"] == pytest.approx(1 / 5)
    assert rates["2026-11-23"]["rate"] == pytest.approx(1 / 3)
    assert rates["2026-11-01"]["rate"] is None
    top = body["top_procedures"]
    assert top[0]["procedure"] == "dang-ky-tam-tru" and top[0]["questions"] == 5
    assert top[0]["name"] != "dang-ky-tam-tru"  # the procedure's name from the knowledge base
    assert {t["procedure"]: t["questions"] for t in top} == {"dang-ky-tam-tru": 5, "cap-the-can-cuoc": 1}
    # one direct submission, one sent from the outbox; the queued event and the pending entry do not count
    assert {d["procedure"]: d["dossiers"] for d in body["dossiers_per_procedure"]} == {
        "dang-ky-tam-tru": 1, "tach-ho": 1}


def test_the_dashboard_page_draws_inline_svg_with_tables_and_no_script(world):
    fill(world)
    client, _ = world.login("bientap")
    page = client.get("/console/dashboard")
    assert page.status_code == 200
    text = page.text
    assert text.count("<svg") == 5 and "<script" not in text.lower()
    # the CSP (default-src 'none'; style-src 'self') would block a style attribute or element
    assert "style=" not in text and "<style" not in text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert 'role="img"' in text and "<title" in text
    # the stacked bars carry channel classes, the numbers are in tables too
    assert 'class="ch-kiosk"' in text and 'class="ch-zalo"' in text
    assert "<caption>Số câu hỏi mỗi ngày theo kênh</caption>" in text
    row = re.search(r'<th scope="row">22/11</th>((?:<td>[^<]*</td>)+)</tr>', text).group(1)
    assert re.findall(r"<td>([^<]*)</td>", row) == ["3", "0", "2", "0", "5"]
    assert "62%" in text  # 5 of 8 answered (62.5, rounded half to even)
    assert "Đăng ký tạm trú" in text


def test_an_empty_dashboard_still_renders(world):
    client, _ = world.login("duyet")
    body = client.get("/console/api/dashboard").json()
    assert body["total"] == 0 and body["answered_share"] is None and body["dossiers_per_procedure"] == []
    page = client.get("/console/dashboard")
    assert page.status_code == 200 and "Chưa có số liệu" in page.text
    assert not world.console.settings.stats_db.exists()  # reading creates nothing


# ---------------------------------------------------------------- hết hiệu lực

def test_expired_lists_what_ended_before_today(tmp_path, kb_copy):  # noqa: F811
    world = make(tmp_path, kb_copy, today=date(2027, 6, 1))
    client, _ = world.login("quantri")
    items = client.get("/console/api/expired").json()
    keys = {(i["key"], i["kind"]) for i in items}
    # a fee reduction ending 31/12/2026, a FAQ entry, a case of a section (from the shipped content)
    assert ("faq:giam-50-phan-tram-le-phi-can-cuoc", "faq") in keys
    assert ("procedure:cap-doi-the-can-cuoc/fee", "fee") in keys
    assert ("procedure:dang-ky-thuong-tru/documents", "case") in keys
    assert all(i["valid_to"] < "2027-06-01" for i in items)
    assert [i["valid_to"] for i in items] == sorted(i["valid_to"] for i in items)
    # the day before the reduction ends, it is not listed
    earlier = make(tmp_path / "b", kb_copy, today=date(2026, 12, 31))
    client2, _ = earlier.login("quantri")
    listed = {i["key"] for i in client2.get("/console/api/expired").json()}
    assert "faq:giam-50-phan-tram-le-phi-can-cuoc" not in listed
    # the page links each entry; editors get an edit link, the admin a link to read it
    page = client.get("/console/expired")
    assert page.status_code == 200
    assert "/console/entry?key=faq%3Agiam-50-phan-tram-le-phi-can-cuoc" in page.text
    assert "/console/edit?key=" not in page.text
    editor, _ = world.login("bientap")
    assert "/console/edit?key=faq%3Agiam-50-phan-tram-le-phi-can-cuoc" in editor.get("/console/expired").text


def test_expired_reads_the_published_content(world):
    editor, csrf = world.login("bientap")
    approver, ap_csrf = world.login("duyet")
    key = "faq:giam-50-phan-tram-le-phi-can-cuoc"
    assert key not in {i["key"] for i in editor.get("/console/api/expired").json()}
    payload = editor.get("/console/api/entry", params={"key": key}).json()["payload"]
    payload = dict(payload, valid_from="2025-01-01", valid_to="2026-11-01")
    draft = editor.post("/console/api/drafts", json={"key": key, "payload": payload},
                        headers={"X-CSRF-Token": csrf})
    assert draft.status_code == 201, draft.text
    # a draft is not published content: not listed yet
    assert key not in {i["key"] for i in editor.get("/console/api/expired").json()}
    published = approver.post(f"/console/api/drafts/{draft.json()['draft']['id']}/publish",
                              json={"reason": "hết đợt giảm"}, headers={"X-CSRF-Token": ap_csrf})
    assert published.status_code == 200, published.text
    listed = [i for i in editor.get("/console/api/expired").json() if i["key"] == key]
    assert listed == [{"key": key, "kind": "faq", "title": listed[0]["title"], "part": "",
                       "valid_to": "2026-11-01"}]

