import pytest
from fastapi.testclient import TestClient

from services.api.main import app


@pytest.fixture(scope="module")
def client():
    with TestClient(app) as test_client:  # runs the lifespan (search loads in a thread)
        yield test_client


def test_health_reports_the_knowledge_base(client):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["procedures"] == 18 and body["faq"] >= 80


def test_procedures_are_listed_with_their_codes(client):
    procedures = {p["id"]: p for p in client.get("/api/kb/procedures").json()}
    assert procedures["dang-ky-tam-tru"]["codes"] == ["1.004194"]


def test_fee_answer_depends_on_the_date(client):
    during = client.get("/api/kb/procedures/cap-doi-the-can-cuoc/answer",
                        params={"aspect": "fee", "on": "2026-11-22"}).json()
    after = client.get("/api/kb/procedures/cap-doi-the-can-cuoc/answer",
                       params={"aspect": "fee", "on": "2027-01-05"}).json()
    assert "25.000 đồng" in during["text"] and "50.000 đồng" in after["text"]
    assert "25.000" not in after["text"]


def test_bad_input_gets_a_vietnamese_message(client):
    response = client.get("/api/kb/procedures/khong-co/answer")
    assert response.status_code == 404 and "Không có thủ tục" in response.json()["detail"]
    response = client.get("/api/kb/procedures/tach-ho/answer", params={"aspect": "gia-ca"})
    assert response.status_code == 422 and "không hợp lệ" in response.json()["detail"]
    response = client.get("/api/kb/procedures/tach-ho/answer", params={"on": "31/02/2026"})
    assert response.status_code == 422


@pytest.fixture(scope="module")
def ready_client(client):
    holder = client.app.state.search
    assert holder.ready.wait(180), "search did not load in 3 minutes"
    assert holder.status == "ready", "search unavailable: is models/kb-index built (make kb-index)?"
    return client


def test_search_returns_passages_best_first_with_their_source(ready_client):
    response = ready_client.get("/api/kb/search", params={"q": "dang ky tam tru het bao nhieu tien", "k": 3})
    assert response.status_code == 200
    hits = response.json()
    assert len(hits) == 3
    assert set(hits[0]) == {"procedure_id", "faq_id", "title", "text", "source", "score"}
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert any(h["procedure_id"] == "dang-ky-tam-tru" for h in hits)
    assert all(h["source"] for h in hits)


def test_search_rejects_empty_oversized_and_bad_k_in_vietnamese(ready_client):
    for params in ({"q": ""}, {"q": "   "}, {}):
        response = ready_client.get("/api/kb/search", params=params)
        assert response.status_code == 422 and "trống" in response.json()["detail"]
    response = ready_client.get("/api/kb/search", params={"q": "a" * 1001})
    assert response.status_code == 422 and "1000" in response.json()["detail"]
    assert ready_client.get("/api/kb/search", params={"q": "a" * 1000}).status_code == 200
    for k in ("0", "21", "abc"):
        response = ready_client.get("/api/kb/search", params={"q": "tạm trú", "k": k})
        assert response.status_code == 422 and " k" in response.json()["detail"]


def test_answer_endpoint_says_what_to_do(ready_client):
    body = ready_client.get("/api/kb/answer", params={"q": "lệ phí đăng ký tạm trú"}).json()
    assert body["decision"] in {"answer", "choices"}
    assert body["hits"] and body["hits"][0]["procedure_id"] == "dang-ky-tam-tru"
    assert ready_client.get("/api/kb/answer", params={"q": ""}).status_code == 422


def test_search_while_loading_gets_503_in_vietnamese():
    from services.api.main import SearchHolder, get_search

    class FakeRequest:
        class app:  # noqa: N801
            class state:  # noqa: N801
                search = SearchHolder()

    with pytest.raises(Exception) as raised:
        get_search(FakeRequest())
    assert raised.value.status_code == 503 and "khởi động" in raised.value.detail


def test_access_log_lines_drop_the_question():
    import logging

    from services.api.main import DropQueryStrings

    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/api/kb/search?q=cccd%20022190001234&k=3", "1.1", 200),
                               None)
    assert DropQueryStrings().filter(record)
    line = record.getMessage()
    assert "022190001234" not in line and "/api/kb/search?…" in line
    assert logging.getLogger("uvicorn.access").filters, "the filter is installed on uvicorn's access logger"
