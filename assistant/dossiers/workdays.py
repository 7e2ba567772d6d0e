"""Vietnamese public holidays and working days, for the expected result date on a dossier
receipt ("03 ngày làm việc").

Law (Bộ luật Lao động 2019, in force since 1/1/2021):
- Art. 112 khoản 1: Tết Dương lịch (1/1); Tết Âm lịch (5 days); Giỗ Tổ Hùng Vương (10/3 lunar);
  Ngày Chiến thắng (30/4); Ngày Quốc tế Lao động (1/5); Quốc khánh (2/9 and one day before or after).
- Art. 112 khoản 3: the Prime Minister fixes the Tết Âm lịch and Quốc khánh days each year.
  Legal default used here until a year is announced: the last day of the lunar year plus the first
  four lunar days, and 1/9 as the day beside 2/9.
- Art. 111 khoản 3: a holiday on a weekly rest day is compensated (nghỉ bù) on the next working day.
Those rules are applied to every year, including years before 2021.

Lunar dates come from `lunar_vn`, a port of Hồ Ngọc Đức's algorithm at UTC+7 (the Vietnamese
calendar; Tết differs from the Chinese calendar in e.g. 1985, 2007, 2030). Supported: 1900-2100.

Public offices (including commune police) work Monday to Friday; the counter is also open on
Saturday morning, but processing time counts Monday-Friday only, plus the Saturdays the government
turns into working days when it swaps days off (làm bù).

Not included because no source could be checked: Ngày Văn hóa Việt Nam (24/11) as a day off (a
Politburo decision reported in the press, no amended law found); the reported 31/8/2026 day off
swapped with Saturday 22/8/2026.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

from lunar_vn import LunarDate, lunar_to_solar

__all__ = ["ANNOUNCED", "YearNotice", "add_working_days", "holiday_name", "holidays_of_year",
           "is_holiday", "is_working_day", "working_days_between"]

_ONE_DAY = timedelta(days=1)
_SATURDAY = 5


@dataclass(frozen=True)
class YearNotice:
    """The government's announcement for one year. When a year has one, its `days_off` replace the
    legal defaults for the day beside 2/9 and for every compensation day (nghỉ bù), and its
    `working_days` are weekend days worked to make up a swapped day (làm bù)."""

    days_off: tuple[tuple[date, str], ...]
    working_days: tuple[date, ...] = ()
    sources: tuple[str, ...] = ()


# Announcements for cán bộ, công chức, viên chức (who staff the commune police counters).
ANNOUNCED: Mapping[int, YearNotice] = MappingProxyType({
    2025: YearNotice(
        days_off=(
            # Tết Ất Tỵ 25/1-2/2/2025: Monday 27/1 off for the legal Tết day on Saturday 1/2.
            # ⚠ Checked against the third-party `holidays` library (which cites Thông báo
            # 6150/TB-BLĐTBXH), not against the notice itself.
            (date(2025, 1, 27), "Nghỉ bù Tết Âm lịch (thay cho thứ Bảy 01/02/2025)"),
            # 30/4-4/5/2025: Friday 2/5 swapped with Saturday 26/4 (Prime Minister's approval).
            (date(2025, 5, 2), "Nghỉ hoán đổi dịp 30/4 - 1/5 (làm bù thứ Bảy 26/04/2025)"),
            # Quốc khánh 30/8-2/9/2025.
            (date(2025, 9, 1), "Quốc khánh (ngày liền kề)"),
        ),
        working_days=(date(2025, 4, 26),),
        sources=("Thông báo 6150/TB-BLĐTBXH (Tết 2025)",
                 "Thủ tướng đồng ý hoán đổi ngày làm việc dịp 30/4 - 1/5/2025 (báo chí, 4/2025)"),
    ),
    2026: YearNotice(
        days_off=(
            # Tết Dương lịch 1/1-4/1/2026: Friday 2/1 swapped with Saturday 10/1.
            (date(2026, 1, 2), "Nghỉ hoán đổi dịp Tết Dương lịch (làm bù thứ Bảy 10/01/2026)"),
            # Giỗ Tổ on Sunday 26/4/2026: nghỉ bù Monday 27/4 (art. 111 khoản 3).
            (date(2026, 4, 27), "Nghỉ bù Giỗ Tổ Hùng Vương (thay cho Chủ nhật 26/04/2026)"),
            # Quốc khánh: Tuesday 1/9 beside Wednesday 2/9.
            (date(2026, 9, 1), "Quốc khánh (ngày liền kề)"),
        ),
        # Tết Bính Ngọ: 16/2-20/2/2026 (29 tháng Chạp to mùng 4), 14/2-22/2 with the weekends,
        # which is the legal default: nothing to add.
        working_days=(date(2026, 1, 10),),
        sources=("Công văn 12729/VPCP-KGVX ngày 25/12/2025 (Tết Dương lịch 2026)",
                 "Thông báo số 9441 của Bộ Nội vụ ngày 16/10/2025 (Tết Âm lịch và Quốc khánh 2026)",
                 "Bộ luật Lao động 2019, Điều 111 khoản 3 (nghỉ bù Giỗ Tổ 27/4/2026)"),
    ),
})


def _lunar(day: int, month: int, lunar_year: int) -> date:
    return lunar_to_solar(LunarDate(day, month, lunar_year))


def _legal_holidays(year: int) -> list[tuple[date, str]]:
    """The fixed days of art. 112 khoản 1 that fall in `year`, in date order."""
    tet = _lunar(1, 1, year)
    days = [(date(year, 1, 1), "Tết Dương lịch"),
            (tet - _ONE_DAY, "Tết Âm lịch (ngày cuối năm Âm lịch)")]
    days += [(tet + timedelta(days=i), f"Tết Âm lịch (mùng {i + 1})") for i in range(4)]
    days += [(_lunar(10, 3, year), "Giỗ Tổ Hùng Vương (10/3 Âm lịch)"),
             (date(year, 4, 30), "Ngày Chiến thắng (30/4)"),
             (date(year, 5, 1), "Ngày Quốc tế Lao động (1/5)"),
             (date(year, 9, 2), "Quốc khánh (2/9)")]
    return sorted(days)


def _compensations(days: list[tuple[date, str]]) -> list[tuple[date, str]]:
    """Art. 111 khoản 3: each holiday on a Saturday or Sunday gives the next free weekday off."""
    taken = {d for d, _ in days}
    extra: list[tuple[date, str]] = []
    for day, name in sorted(days):
        if day.weekday() < _SATURDAY:
            continue
        off = day + _ONE_DAY
        while off.weekday() >= _SATURDAY or off in taken:
            off += _ONE_DAY
        taken.add(off)
        extra.append((off, f"Nghỉ bù {name}"))
    return extra


@lru_cache(maxsize=64)
def holidays_of_year(year: int) -> Mapping[date, str]:
    """Every day off of `year` (legal holidays, the day beside 2/9, nghỉ bù and swapped days),
    mapped to its Vietnamese name. An announced year uses `ANNOUNCED`, others the legal defaults."""
    days = _legal_holidays(year)
    notice = ANNOUNCED.get(year)
    if notice is not None:
        days += list(notice.days_off)
    else:
        days.append((date(year, 9, 1), "Quốc khánh (ngày liền kề)"))
        days += _compensations(days)
    return MappingProxyType(dict(sorted(days)))


def _make_up_days(year: int) -> tuple[date, ...]:
    notice = ANNOUNCED.get(year)
    return notice.working_days if notice is not None else ()


def holiday_name(d: date) -> str | None:
    """The name of the holiday or day off on `d`, or None (weekends are not named)."""
    return holidays_of_year(d.year).get(d)


def is_holiday(d: date) -> bool:
    """True on a public holiday or an official day off (nghỉ bù, swapped day)."""
    return d in holidays_of_year(d.year)


def is_working_day(d: date) -> bool:
    """True Monday to Friday outside holidays, and on a Saturday worked to make up a swapped day."""
    if d in _make_up_days(d.year):
        return True
    return d.weekday() < _SATURDAY and not is_holiday(d)


def _working_days_after(start: date) -> Iterator[date]:
    day = start
    while True:
        day += _ONE_DAY
        if is_working_day(day):
            yield day


def add_working_days(start: date, n: int) -> date:
    """The expected result date of a dossier received on `start` that takes `n` working days.

    Convention: the day of receipt is never counted. Counting starts on the first working day after
    `start` (whether `start` is a working day, a Saturday when the counter is open in the morning,
    a Sunday or a holiday), and the result is the n-th working day counted, i.e. the day on which
    the n-th full working day ends. Received Monday with n=3: Thursday.
    n=0 (same-day procedures) gives `start` itself if it is a working day, else the next working day.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if n == 0 and is_working_day(start):
        return start
    days = _working_days_after(start)
    result = next(days)
    for _ in range(n - 1):
        result = next(days)
    return result


def working_days_between(a: date, b: date) -> int:
    """The number of working days d with a < d <= b (negative if b is before a), so that
    `working_days_between(a, add_working_days(a, n)) == n` for n >= 1."""
    if b < a:
        return -working_days_between(b, a)
    count, day = 0, a
    while day < b:
        day += _ONE_DAY
        count += is_working_day(day)
    return count
