from datetime import date

from assistant.knowledge.lexical import LexicalIndex
from assistant.knowledge.passages import build_passages
from assistant.knowledge.loader import load_knowledge_base
from assistant.settings import KNOWLEDGE_BASE_DIR


def test_passages_past_their_valid_to_date_are_not_found():
    kb = load_knowledge_base(KNOWLEDGE_BASE_DIR)
    expiring = next(e for e in kb.faq.values() if e.validity.valid_to)
    index = LexicalIndex(build_passages(kb))
    question = expiring.questions[0]
    before = [h.passage.faq_id for h in index.search(question, expiring.validity.valid_to, k=5)]
    after = [h.passage.faq_id for h in index.search(question, date(2099, 1, 1), k=5)]
    assert expiring.id in before
    assert expiring.id not in after
