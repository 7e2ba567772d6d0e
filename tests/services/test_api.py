from fastapi.testclient import TestClient

from services.api.main import app

client = TestClient(app)


def test_health_reports_the_knowledge_base():
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["procedures"] == 18 and body["faq"] >= 80


def test_procedures_are_listed_with_their_codes():
    procedures = {p["id"]: p for p in client.get("/api/kb/procedures").json()}
    assert procedures["dang-ky-tam-tru"]["codes"] == ["1.004194"]


def test_fee_answer_depends_on_the_date():
    during = client.get("/api/kb/procedures/cap-doi-the-can-cuoc/answer",
                        params={"aspect": "fee", "on": "2026-11-22"}).json()
    after = client.get("/api/kb/procedures/cap-doi-the-can-cuoc/answer",
                       params={"aspect": "fee", "on": "2027-01-05"}).json()
    assert "25.000 đồng" in during["text"] and "50.000 đồng" in after["text"]
    assert "25.000" not in after["text"]


def test_bad_input_gets_a_vietnamese_message():
    response = client.get("/api/kb/procedures/khong-co/answer")
    assert response.status_code == 404 and "Không có thủ tục" in response.json()["detail"]
    response = client.get("/api/kb/procedures/tach-ho/answer", params={"aspect": "gia-ca"})
    assert response.status_code == 422 and "không hợp lệ" in response.json()["detail"]
    response = client.get("/api/kb/procedures/tach-ho/answer", params={"on": "31/02/2026"})
    assert response.status_code == 422
