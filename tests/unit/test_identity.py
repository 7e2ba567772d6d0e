"""The ID-number structure (Circular 59/2021) and the masks for personal numbers."""
from datetime import date

import pytest

from assistant.identity import (
    BIRTH_PROVINCES,
    FEMALE,
    MALE,
    IdNumberError,
    id_number_problems,
    is_mobile_phone,
    make_id_number,
    mask_id_number,
    mask_phone,
    parse_id_number,
)


def test_the_parts_of_an_id_number():
    number = parse_id_number("022 190 001 234")
    assert (number.value, number.province, number.sex, number.birth_year) == (
        "022190001234", "Quảng Ninh", FEMALE, 1990)
    assert parse_id_number("079205001234").birth_year == 2005 and parse_id_number("079205001234").sex == MALE


def test_make_is_the_inverse_of_parse():
    for code, sex, year in (("001", MALE, 1945), ("096", FEMALE, 1999), ("030", FEMALE, 2000), ("022", MALE, 2024)):
        number = parse_id_number(make_id_number(code, sex, year, 1234))
        assert (number.province_code, number.sex, number.birth_year) == (code, sex, year)


def test_63_birth_province_codes():
    assert len(BIRTH_PROVINCES) == 63 and BIRTH_PROVINCES["031"] == "Hải Phòng" and "003" not in BIRTH_PROVINCES


@pytest.mark.parametrize("text, words", [("02219000123", "12 chữ số"), ("0221900012345", "12 chữ số"),
                                         ("abc", "12 chữ số"), ("003190001234", "mã tỉnh")])
def test_malformed_numbers_are_explained(text, words):
    with pytest.raises(IdNumberError, match=words):
        parse_id_number(text)


def test_consistency_with_birth_date_and_sex():
    number = parse_id_number("022190001234")
    assert id_number_problems(number, date(1990, 3, 5), FEMALE) == []
    problems = id_number_problems(number, date(1991, 3, 5), MALE)
    assert len(problems) == 2 and "1990" in problems[0]


def test_masks_and_phones():
    assert mask_id_number("022190001234") == "022*******34" and mask_phone("0912345612") == "09******12"
    assert is_mobile_phone("0912 345 612") and not is_mobile_phone("0212345612") and not is_mobile_phone("091234561")
