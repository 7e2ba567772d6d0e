import unicodedata

import pytest
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from assistant.nlu.components import VietnameseNormalizer, VietnameseTokenizer


@pytest.fixture
def tokenize():
    normalizer = VietnameseNormalizer(VietnameseNormalizer.get_default_config())
    tokenizer = VietnameseTokenizer(VietnameseTokenizer.get_default_config())

    def run(text: str):
        message = Message({TEXT: text})
        normalizer.process([message])
        tokenizer.process([message])
        return message.get("text_tokens")

    return run


@pytest.mark.parametrize("text", [
    unicodedata.normalize("NFD", "Đăng ký tạm trú cần giấy tờ gì?"),
    "Hoà Bình đăng ký thường trú",  # old-style tone placement
    "cccd hết hạn thì làm sao ạ",
    "quáaaa lâu rồi, ko biết đk ở đâu!!!",
    "số 022190001234 ngày 5/3/1990",
])
def test_token_offsets_point_into_the_original_text(tokenize, text):
    tokens = tokenize(text)
    assert tokens
    for token in tokens:
        assert 0 <= token.start < token.end <= len(text)
        span = unicodedata.normalize("NFC", text[token.start:token.end]).lower()
        assert span.strip(), token


def test_words_are_segmented_and_lemmas_are_folded(tokenize):
    tokens = tokenize("Đăng ký tạm trú cần giấy tờ gì")
    assert [t.text for t in tokens] == ["đăng_ký", "tạm_trú", "cần", "giấy_tờ", "gì"]
    assert [t.lemma for t in tokens] == ["dang_ky", "tam_tru", "can", "giay_to", "gi"]


def test_nfd_text_gives_the_same_tokens_as_nfc(tokenize):
    text = "Đăng ký tạm trú cần giấy tờ gì"
    nfd = tokenize(unicodedata.normalize("NFD", text))
    nfc = tokenize(text)
    assert [t.text for t in nfd] == [t.text for t in nfc]


def test_unknown_words_turn_a_confident_guess_into_a_fallback():
    from assistant.nlu.components import UnknownWordsFallback

    guard = UnknownWordsFallback({"min_known_share": 0.5}, None, None, {"dang", "ky", "tam", "tru"})
    gibberish = Message({TEXT: "asdkjh qwe zxc", "intent": {"name": "affirm", "confidence": 0.97}})
    known = Message({TEXT: "dang ky tam tru", "intent": {"name": "ask_overview", "confidence": 0.9}})
    guard.process([gibberish, known])
    assert gibberish.get("intent")["name"] == "nlu_fallback"
    assert known.get("intent")["name"] == "ask_overview"


def test_masker_hides_named_procedures_and_numbers_from_intent_features(tokenize):
    from unittest.mock import MagicMock

    from assistant.nlu.components import EntityPlaceholderMasker

    masker = EntityPlaceholderMasker(EntityPlaceholderMasker.get_default_config(), MagicMock(), MagicMock())
    normalizer = VietnameseNormalizer(VietnameseNormalizer.get_default_config())
    tokenizer = VietnameseTokenizer(VietnameseTokenizer.get_default_config())

    def lemmas(text: str) -> list[str]:
        message = Message({TEXT: text})
        normalizer.process([message])
        tokenizer.process([message])
        masker.process([message])
        return [t.lemma for t in message.get("text_tokens")]

    accented = lemmas("Đăng ký tạm trú cần giấy tờ gì")
    unaccented = lemmas("dk tam tru can giay to gi")
    other = lemmas("gia hạn tạm trú cần giấy tờ gì")
    assert accented == other
    assert accented[0] == "entity_procedure" and accented[-3:] == ["can", "giay_to", "gi"]
    # (without the trained diacritic restorer, unaccented words segment differently)
    assert unaccented[0] == "entity_procedure" and not {"dk", "tam", "tru", "tam_tru"} & set(unaccented)
    assert "entity_id_number" in lemmas("số căn cước 022190001234 của tôi")
    # words outside entities keep their folded lemma
    assert lemmas("thủ tục này mất bao lâu") == [t.lemma for t in tokenize("thủ tục này mất bao lâu")]
