import shutil
from datetime import date
from pathlib import Path

import pytest

from assistant.knowledge.answers import answer_aspect, fees_in_force
from assistant.knowledge.loader import check_knowledge_base, load_knowledge_base
from assistant.knowledge.model import PROCEDURE_IDS
from assistant.settings import KNOWLEDGE_BASE_DIR


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(KNOWLEDGE_BASE_DIR)


def test_the_shipped_knowledge_base_passes_the_schema_check():
    _, problems = check_knowledge_base(KNOWLEDGE_BASE_DIR)
    assert [str(p) for p in problems] == []


def test_every_catalogue_procedure_and_enough_faq(kb):
    assert set(kb.procedures) == set(PROCEDURE_IDS)
    assert len(kb.faq) >= 80


def _copy_kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(KNOWLEDGE_BASE_DIR, root)
    return root


def _problems(root: Path) -> list[str]:
    return [str(p) for p in check_knowledge_base(root)[1]]


def test_a_missing_field_is_reported_with_file_and_line(tmp_path):
    root = _copy_kb(tmp_path)
    path = root / "procedures" / "tach-ho.yml"
    text = path.read_text(encoding="utf-8")
    assert "\nsummary:" in text
    path.write_text(text.replace("\nsummary:", "\nold_summary:", 1), encoding="utf-8")
    problems = _problems(root)
    assert any(p.startswith(f"{path}:") and "'summary'" in p for p in problems), problems


def test_an_unknown_procedure_id_is_reported(tmp_path):
    root = _copy_kb(tmp_path)
    path = root / "procedures" / "tach-ho.yml"
    text = path.read_text(encoding="utf-8").replace("id: tach-ho", "id: tach-ho-moi", 1)
    path.write_text(text, encoding="utf-8")
    problems = _problems(root)
    assert any(f"{path}:1:" in p or (str(path) in p and "tach-ho-moi" in p) for p in problems), problems


def test_a_fee_without_a_source_is_reported_at_its_line(tmp_path):
    root = _copy_kb(tmp_path)
    path = root / "procedures" / "dang-ky-tam-tru.yml"
    lines = path.read_text(encoding="utf-8").splitlines()
    fee_start = next(i for i, line in enumerate(lines) if line.strip().startswith("fee:"))
    item = next(i for i in range(fee_start, len(lines)) if lines[i].strip().startswith("- label:"))
    source = next(i for i in range(item + 1, len(lines)) if lines[i].strip().startswith("sources:"))
    del lines[source]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = _problems(root)
    assert any(p.startswith(f"{path}:{item + 1}:") and "nguồn" in p for p in problems), problems


def test_residence_fees_for_temporary_residence(kb):
    answer = answer_aspect(kb, "dang-ky-tam-tru", "fee", date(2026, 11, 22))
    assert "15.000 đồng" in answer.text and "7.000 đồng" in answer.text
    assert "75/2022/TT-BTC" in answer.text


def test_a_reduction_that_has_ended_is_not_quoted_as_current(kb):
    fees = kb.procedures["cap-lai-the-can-cuoc"].sections["fee"].fees
    during = {f.amount for f in fees_in_force(fees, date(2026, 11, 22))}
    after = {f.amount for f in fees_in_force(fees, date(2027, 1, 5))}
    assert 35000 in during and 70000 not in during
    assert 70000 in after and 35000 not in after
    text_after = answer_aspect(kb, "cap-lai-the-can-cuoc", "fee", date(2027, 1, 5)).text
    assert "70.000 đồng" in text_after and "35.000" not in text_after


def test_every_answer_names_its_legal_basis_and_update_date(kb):
    for procedure_id in PROCEDURE_IDS:
        for aspect in ("documents", "fee", "time", "where"):
            text = answer_aspect(kb, procedure_id, aspect, date(2026, 11, 22)).text
            assert "Căn cứ:" in text and "Cập nhật:" in text, (procedure_id, aspect)


def test_many_documents_cases_ask_which_case_first_then_answer_only_that_case(kb):
    day = date(2026, 11, 22)
    question = answer_aspect(kb, "dang-ky-thuong-tru", "documents", day)
    assert "trường hợp nào" in question.text and len(question.buttons) >= 3
    assert all('"doc_case"' in b.payload for b in question.buttons)
    rented = next(i for i, b in enumerate(question.buttons) if "thuê" in b.title)
    answer = answer_aspect(kb, "dang-ky-thuong-tru", "documents", day, case=rented)
    assert "10 m²" in answer.text and "Cơ sở tín ngưỡng" not in answer.text
    assert len(answer.text) < 1200
