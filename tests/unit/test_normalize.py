import unicodedata

from assistant.text.normalize import fold, is_mostly_unaccented, normalize_text, normalize_words
from assistant.text.restore import DiacriticRestorer


def test_nfd_input_becomes_nfc_with_spans_into_the_original():
    text = unicodedata.normalize("NFD", "Đăng ký tạm trú")
    words = normalize_words(text)
    assert [w.text for w in words] == ["đăng", "ký", "tạm", "trú"]
    assert all(unicodedata.is_normalized("NFC", w.text) for w in words)
    assert [text[w.start:w.end] for w in words] == text.split()


def test_old_style_tone_placement_is_standardised():
    assert normalize_text("Hoà Bình, thuỷ") == "hòa bình thủy"


def test_abbreviations_and_teen_code_expand():
    assert normalize_text("ĐK tt ko cần cccd à") == "đăng ký tạm trú không cần căn cước công dân à"
    assert normalize_text("sdt j, dc ko") == "số điện thoại gì được không"


def test_expanded_words_keep_the_span_of_the_abbreviation():
    text = "làm cccd"
    expanded = [w for w in normalize_words(text) if w.expanded]
    assert {text[w.start:w.end] for w in expanded} == {"cccd"}


def test_stretched_letters_are_squeezed():
    assert normalize_text("alooo cảm ơnnn nhéee") == "alo cảm ơn nhé"


def test_fold_strips_all_diacritics():
    assert fold("Đăng KÝ tạm trú") == "dang ky tam tru"


def test_unaccented_detection_ignores_expansions():
    assert is_mostly_unaccented(normalize_words("dk tam tru can giay to j"))
    assert not is_mostly_unaccented(normalize_words("đăng ký tạm trú cần giấy tờ gì"))


def test_restorer_restores_known_phrases_and_keeps_lengths():
    restorer = DiacriticRestorer.fit(["Đăng ký tạm trú cần giấy tờ gì", "lệ phí tạm trú bao nhiêu"])
    words = normalize_words("dang ky tam tru le phi bao nhieu")
    restored = restorer.restore(words)
    assert " ".join(w.text for w in restored) == "đăng ký tạm trú lệ phí bao nhiêu"
    assert [(w.start, w.end) for w in restored] == [(w.start, w.end) for w in words]
