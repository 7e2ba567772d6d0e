import pytest

from assistant.text.entities import EntityFinder


@pytest.fixture(scope="module")
def finder():
    return EntityFinder.default()


def found(finder, text):
    return {(e.entity, e.value, text[e.start:e.end]) for e in finder.find(text)}


def test_numbers_codes_and_dates(finder):
    text = "Số cccd 022190001234, cmnd 100845362, sđt 0912.345.678, sinh ngày 5 tháng 3 năm 1990"
    assert found(finder, text) >= {
        ("id_number", "022190001234", "022190001234"),
        ("cmnd_number", "100845362", "100845362"),
        ("phone", "0912345678", "0912.345.678"),
        ("date", "1990-03-05", "ngày 5 tháng 3 năm 1990"),
    }


def test_numeric_dates_in_the_ways_people_write_them(finder):
    for text in ("5/3/1990", "05-03-1990", "5.3.1990"):
        assert ("date", "1990-03-05", text) in found(finder, text)


def test_dossier_code(finder):
    assert ("dossier_code", "G01.899.108-261103-0012", "g01.899.108-261103-0012") in found(
        finder, "tra cứu hồ sơ g01.899.108-261103-0012")


@pytest.mark.parametrize("text,procedure", [
    ("đăng ký tạm trú cần gì", "dang-ky-tam-tru"),
    ("dk tam tru can gi", "dang-ky-tam-tru"),
    ("gia hạn tạm trú mất bao lâu", "gia-han-tam-tru"),
    ("khai bao tam vang o dau", "khai-bao-tam-vang"),
])
def test_procedures_with_and_without_diacritics(finder, text, procedure):
    assert procedure in {e.value for e in finder.find(text) if e.entity == "procedure"}


def test_provinces_old_names_map_to_2025_units(finder):
    values = {e.value for e in finder.find("tôi ở Hải Dương, chuyển về quang ninh") if e.entity == "province"}
    assert values == {"Thành phố Hải Phòng", "Quảng Ninh"}


def test_commune_2025(finder):
    assert ("commune", "Phường Hồng Gai", "phuong hong gai") in found(finder, "o phuong hong gai")


def test_relation_only_in_family_context(finder):
    assert ("relation", "con", "con") in found(finder, "đăng ký thường trú cho con")
    assert not [e for e in finder.find("anh ơi cho em hỏi") if e.entity == "relation"]


def test_a_relation_inside_a_procedure_phrase_is_still_found(finder):
    entities = found(finder, "làm căn cước cho con thế nào")
    assert ("relation", "con", "con") in entities
    assert any(e[0] == "procedure" and e[1] == "cap-the-can-cuoc" for e in entities)


def test_form_field_wording_is_not_mistaken_for_a_place(finder):
    entities = found(finder, "quan hệ với chủ hộ: con dâu")
    assert ("relation", "con dâu", "con dâu") in entities
    assert not [e for e in entities if e[0] == "commune"]
