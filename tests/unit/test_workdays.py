"""Vietnamese holidays (Vietnamese lunar calendar, yearly announcements) and working-day counts."""
from datetime import date, timedelta

import pytest

from assistant.dossiers.workdays import (
    ANNOUNCED,
    add_working_days,
    holiday_name,
    holidays_of_year,
    is_holiday,
    is_working_day,
    working_days_between,
)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.mark.parametrize("day", [date(2025, 1, 29), date(2026, 2, 17), date(2027, 2, 6), date(2028, 1, 26)])
def test_tet_is_the_first_lunar_day(day):
    assert holiday_name(day) == "Tết Âm lịch (mùng 1)"
    assert holiday_name(day - timedelta(days=1)) == "Tết Âm lịch (ngày cuối năm Âm lịch)"
    assert holiday_name(day + timedelta(days=3)) == "Tết Âm lịch (mùng 4)"


@pytest.mark.parametrize("day", [date(2025, 4, 7), date(2026, 4, 26)])
def test_gio_to_hung_vuong(day):
    assert holiday_name(day) == "Giỗ Tổ Hùng Vương (10/3 Âm lịch)"


@pytest.mark.parametrize("vietnam, china", [(date(1985, 1, 21), date(1985, 2, 20)),
                                            (date(2007, 2, 17), date(2007, 2, 18)),
                                            (date(2030, 2, 2), date(2030, 2, 3))])
def test_the_vietnamese_calendar_not_the_chinese_one(vietnam, china):
    assert holiday_name(vietnam) == "Tết Âm lịch (mùng 1)"
    assert holiday_name(china) != "Tết Âm lịch (mùng 1)"


def test_fixed_solar_holidays():
    for year in (2025, 2026, 2027, 2031):
        assert holiday_name(date(year, 1, 1)) == "Tết Dương lịch"
        assert holiday_name(date(year, 4, 30)) == "Ngày Chiến thắng (30/4)"
        assert holiday_name(date(year, 5, 1)) == "Ngày Quốc tế Lao động (1/5)"
        assert holiday_name(date(year, 9, 2)) == "Quốc khánh (2/9)"
        assert holiday_name(date(year, 9, 1)) == "Quốc khánh (ngày liền kề)"


def test_tet_2026_as_announced_14_to_22_february():
    assert not any(is_working_day(d) for d in _days(date(2026, 2, 14), date(2026, 2, 22)))
    assert is_working_day(date(2026, 2, 13)) and is_working_day(date(2026, 2, 23))
    # received on the Friday before Tết: the first working day counted is Monday 23/2
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 23)
    assert add_working_days(date(2026, 2, 13), 3) == date(2026, 2, 25)


def test_tet_2025_with_the_monday_before_off():
    assert not any(is_working_day(d) for d in _days(date(2025, 1, 25), date(2025, 2, 2)))
    assert holiday_name(date(2025, 1, 27)).startswith("Nghỉ bù Tết Âm lịch")
    assert is_working_day(date(2025, 2, 3))
    assert add_working_days(date(2025, 1, 24), 3) == date(2025, 2, 5)


def test_30_4_and_1_5_in_2025_with_the_swapped_friday_and_saturday():
    assert all(is_holiday(d) for d in _days(date(2025, 4, 30), date(2025, 5, 2)))
    assert is_working_day(date(2025, 4, 26)) and not is_holiday(date(2025, 4, 26))  # làm bù
    assert add_working_days(date(2025, 4, 29), 1) == date(2025, 5, 5)
    assert add_working_days(date(2025, 4, 25), 1) == date(2025, 4, 26)


def test_2026_gio_to_on_sunday_and_30_4_1_5_on_thursday_friday():
    assert holiday_name(date(2026, 4, 27)).startswith("Nghỉ bù Giỗ Tổ")
    assert add_working_days(date(2026, 4, 24), 1) == date(2026, 4, 28)
    assert add_working_days(date(2026, 4, 29), 1) == date(2026, 5, 4)


def test_new_year_2026_swap():
    assert is_holiday(date(2026, 1, 2)) and is_working_day(date(2026, 1, 10))
    assert add_working_days(date(2025, 12, 30), 3) == date(2026, 1, 6)


def test_legal_defaults_for_a_year_not_announced():
    assert 2027 not in ANNOUNCED
    # Tết 2027: mùng 1 and 2 on the weekend, nghỉ bù on Wednesday and Thursday
    assert holiday_name(date(2027, 2, 10)) == "Nghỉ bù Tết Âm lịch (mùng 1)"
    assert holiday_name(date(2027, 2, 11)) == "Nghỉ bù Tết Âm lịch (mùng 2)"
    assert is_working_day(date(2027, 2, 12))
    assert holiday_name(date(2027, 5, 3)) == "Nghỉ bù Ngày Quốc tế Lao động (1/5)"  # 1/5 is a Saturday


def test_weekends_are_not_working_days_and_have_no_name():
    saturday, sunday = date(2025, 3, 8), date(2025, 3, 9)
    assert not is_working_day(saturday) and not is_working_day(sunday)
    assert holiday_name(saturday) is None and not is_holiday(sunday)
    # received on Friday or on Saturday morning: Monday is the first working day counted
    assert add_working_days(date(2025, 3, 7), 1) == add_working_days(saturday, 1) == date(2025, 3, 10)
    assert add_working_days(date(2025, 3, 3), 3) == date(2025, 3, 6)  # Monday + 3 -> Thursday
    assert add_working_days(date(2025, 3, 6), 5) == date(2025, 3, 13)  # across a weekend


def test_n_zero_is_the_same_day_or_the_next_working_day():
    assert add_working_days(date(2025, 3, 5), 0) == date(2025, 3, 5)
    assert add_working_days(date(2025, 3, 8), 0) == date(2025, 3, 10)
    assert add_working_days(date(2025, 9, 1), 0) == date(2025, 9, 3)
    with pytest.raises(ValueError):
        add_working_days(date(2025, 3, 5), -1)


@pytest.mark.parametrize("year, count", [(2025, 250), (2026, 250), (2027, 250), (2028, 249)])
def test_working_days_in_a_year(year, count):
    assert working_days_between(date(year - 1, 12, 31), date(year, 12, 31)) == count


def test_large_n_across_years():
    start = date(2024, 12, 31)
    end = add_working_days(start, 750)
    assert end == date(2027, 12, 31) and is_working_day(end)
    assert working_days_between(start, end) == 750
    assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)  # 1/1/2027 is a Friday


def test_between_is_the_inverse_of_add():
    for start in _days(date(2025, 12, 20), date(2026, 3, 10)):
        for n in (1, 2, 3, 5, 7, 30):
            end = add_working_days(start, n)
            assert working_days_between(start, end) == n
            assert working_days_between(end, start) == -n
            assert is_working_day(end)
    assert working_days_between(date(2026, 2, 14), date(2026, 2, 22)) == 0


def test_every_year_has_eleven_paid_weekdays_off():
    for year in range(2021, 2101):
        notice = ANNOUNCED.get(year)
        weekdays_off = sum(d.weekday() < 5 for d in holidays_of_year(year))
        assert weekdays_off - len(notice.working_days if notice else ()) == 11, year


def test_unverified_days_are_not_included():
    assert holiday_name(date(2026, 11, 24)) is None  # Ngày Văn hóa Việt Nam: no law found yet
    assert is_working_day(date(2026, 8, 31)) and not is_working_day(date(2026, 8, 22))


def test_tables_are_immutable_and_the_range_is_checked():
    with pytest.raises(TypeError):
        ANNOUNCED[2030] = ANNOUNCED[2025]  # type: ignore[index]
    with pytest.raises(TypeError):
        holidays_of_year(2025)[date(2025, 3, 3)] = "x"  # type: ignore[index]
    with pytest.raises(ValueError):
        is_working_day(date(2101, 6, 1))
