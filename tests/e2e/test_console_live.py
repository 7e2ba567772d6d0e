"""Live updates end to end: an officer publishes a new FAQ entry through the console's API and
a citizen's question through Rasa's REST channel is answered from it within 10 seconds, with
no restart; retiring it takes the answer back, restoring the published version brings it
back, and restoring the retired version takes it back again."""
import time
import uuid

import requests

from .conftest import CONSOLE_OFFICER, ask, reply_text

API = "http://127.0.0.1:8000"
ENTRY = "faq:cong-an-xa-tiep-dan-sang-thu-bay"
QUESTION = "Sáng thứ bảy công an xã có làm việc không ạ"
ANSWER = ("Dạ, từ ngày 01/12/2026 Công an xã tiếp nhận hồ sơ cư trú và căn cước cả sáng thứ Bảy, "
          "từ 7 giờ 30 đến 11 giờ 30 (thông báo số 17/TB-CAX); chiều thứ Bảy và Chủ nhật nghỉ.")
MARK = "17/TB-CAX"
PAYLOAD = {
    "id": ENTRY[4:],
    "questions": [QUESTION, "Công an xã có tiếp dân vào sáng thứ Bảy không?",
                  "thu bay cong an xa co lam viec khong"],
    "answer": ANSWER,
    "basis": "Thông báo số 17/TB-CAX về lịch tiếp công dân của Công an xã",
    "sources": ["KONTUM-46"],
}
LIMIT_S = 10.0


def new_sender() -> str:
    return f"e2e-live-{uuid.uuid4().hex[:8]}"


def wait_for_search(timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if requests.get(f"{API}/health", timeout=5).json()["search"] == "ready":
            return
        time.sleep(1)
    raise AssertionError("the search did not become ready")


def officer_session() -> tuple[requests.Session, str]:
    session = requests.Session()
    username, password = CONSOLE_OFFICER
    response = session.post(f"{API}/console/api/login", json={"username": username, "password": password},
                            timeout=30)
    assert response.status_code == 200, response.text
    return session, response.json()["csrf_token"]


def post(session: requests.Session, csrf: str, path: str, body: dict, status: int = 200) -> dict:
    response = session.post(f"{API}/console/api/{path}", json=body, headers={"X-CSRF-Token": csrf},
                            timeout=60)
    assert response.status_code == status, response.text
    return response.json()


def seconds_until(answered: bool) -> float:
    """Ask as a new citizen until the answer does (or no longer does) come from the entry."""
    started = time.monotonic()
    replies = []
    while time.monotonic() - started < LIMIT_S:
        text = reply_text(ask(new_sender(), QUESTION))
        replies.append(text)
        if (MARK in text) == answered:
            return time.monotonic() - started
        time.sleep(0.3)
    raise AssertionError(f"not {'answered' if answered else 'reverted'} within {LIMIT_S} s; "
                         f"last replies: {replies[-2:]}")


def test_a_published_entry_is_answered_within_seconds_and_retiring_reverts(system):
    wait_for_search()
    before = reply_text(ask(new_sender(), QUESTION))
    assert MARK not in before and "7 giờ 30" not in before  # the shipped content does not say this
    session, csrf = officer_session()

    draft = post(session, csrf, "drafts", {"key": ENTRY, "payload": PAYLOAD, "new": True,
                                           "note": "Lịch tiếp dân mới"}, status=201)["draft"]
    published = post(session, csrf, f"drafts/{draft['id']}/publish", {"reason": "Thông báo 17/TB-CAX"})
    assert published["version"] == 1
    print(f"\nanswered from the published entry {seconds_until(answered=True):.1f} s after publishing")
    assert ANSWER in reply_text(ask(new_sender(), QUESTION))

    retire = post(session, csrf, "drafts", {"key": ENTRY, "payload": None, "note": "Hết áp dụng"},
                  status=201)["draft"]
    retired = post(session, csrf, f"drafts/{retire['id']}/publish", {"reason": "Thông báo bị hủy"})
    assert retired["version"] == 2
    print(f"answer reverted {seconds_until(answered=False):.1f} s after retiring")

    restored = post(session, csrf, "restore", {"key": ENTRY, "version": 1, "reason": "Có hiệu lực lại"})
    assert restored["version"] == 3 and restored["restored_from"] == 1
    print(f"answered again {seconds_until(answered=True):.1f} s after restoring version 1")

    # restoring the version before (the retired one) reverts the answer again
    assert post(session, csrf, "restore", {"key": ENTRY, "version": 2, "reason": "Hủy lại"})["version"] == 4
    print(f"answer reverted {seconds_until(answered=False):.1f} s after restoring version 2")
