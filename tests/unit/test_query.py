"""Query preparation for the knowledge-base search (assistant/text/query.py): the search's
own abbreviations, misspelling repair and diacritic restoration, learned from the
project's own text (knowledge base + NLU examples)."""
from datetime import date
from pathlib import Path

import pytest

from assistant.knowledge.lexical import LexicalIndex, terms
from assistant.knowledge.loader import load_knowledge_base
from assistant.knowledge.passages import build_passages, expanded_text
from assistant.settings import KNOWLEDGE_BASE_DIR
from assistant.text.corpus import nlu_training_texts
from assistant.text.normalize import normalize_words
from assistant.text.query import QueryPreparer, expand_abbreviations, split_tone

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def passages():
    return build_passages(load_knowledge_base(KNOWLEDGE_BASE_DIR))


@pytest.fixture(scope="module")
def preparer(passages):
    return QueryPreparer.fit([p.search_text for p in passages] + nlu_training_texts(ROOT / "nlu_data"))


def words(text):
    return [w.text for w in expand_abbreviations(normalize_words(text))]


def test_search_abbreviations_expand_and_keep_their_span():
    assert words("khai tv, nhập hk") == ["khai", "tạm", "vắng", "nhập", "hộ", "khẩu"]
    assert words("con 13t, CA xã t7") == ["con", "13", "tuổi", "công", "an", "xã", "thứ", "7"]
    text = "xin gks"
    assert {text[w.start:w.end] for w in expand_abbreviations(normalize_words(text)) if w.expanded} == {"gks"}


def test_ambiguous_short_forms_expand_only_in_context():
    assert words("ca nha chuyen di") == ["ca", "nha", "chuyen", "di"]      # "cả nhà", not "công an"
    assert words("mẫu ct01") == ["mẫu", "ct01"]                             # form codes stay whole
    assert words("hđ thuê trọ") == ["hợp", "đồng", "thuê", "trọ"]             # "đ" typed as such


def test_unaccented_query_gets_abbreviations_and_diacritics(preparer):
    assert preparer.prepare("khai tv tren vneid dc k") == "khai tạm vắng trên vneid được không"
    assert preparer.prepare("dang ky tam tru le phi bao nhieu") == "đăng ký tạm trú lệ phí bao nhiêu"


def test_sound_alike_misspellings_are_repaired_from_known_pairs(preparer):
    assert preparer.prepare("đăng kí thường chú cho con") == "đăng ký thường trú cho con"
    assert preparer.prepare("dang ki tam chu o dau") == "đăng ký tạm trú ở đâu"
    assert preparer.prepare("xin giay sac nhan cu tru") == "xin giấy xác nhận cư trú"


def test_misplaced_or_impossible_tone_marks_are_repaired(preparer):
    assert split_tone("cước") == ("cươc", "\u0301")
    assert preparer.prepare("thẻ căn cươc cuả em") == "thẻ căn cước của em"


def test_correct_words_are_left_alone(preparer):
    for text in ("tôi sinh năm 2001 thì năm nào phải đổi thẻ", "thẻ bị bẻ cong",
                 "nhà mình ở nhờ thì đăng ký kiểu gì", "làm căn cước cho con"):
        assert preparer.prepare(text) == text


def test_bm25_matches_search_abbreviations_on_both_sides(passages):
    assert "tam_vang" in terms("khai tv")
    hits = LexicalIndex(passages).search("khai tv o dau", date(2026, 11, 22), k=3)
    assert hits[0].passage.procedure_id == "khai-bao-tam-vang"


def test_faq_variants_with_abbreviations_get_an_expanded_twin_row(passages):
    assert expanded_text("csdl dân cư chưa có tên mình") == "cơ sở dữ liệu dân cư chưa có tên mình"
    faq = next(p for p in passages if any("csdl" in q for q in p.questions))
    assert any("cơ sở dữ liệu" in q for q in faq.extra_questions)
