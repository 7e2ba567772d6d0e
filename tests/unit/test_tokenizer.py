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
