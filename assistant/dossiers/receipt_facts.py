"""What a receipt says that comes from the knowledge base: how many working days the
procedure takes and the fee due, as of a given day (so a change in the law reaches the
receipt the day the knowledge base changes)."""
from __future__ import annotations

import re
from datetime import date

from assistant.knowledge.answers import fees_in_force, format_money
from assistant.knowledge.model import KnowledgeBase

_DAYS = re.compile(r"(\d{1,2})\s+ngày làm việc")
_HALF_DAY = re.compile(r"nửa ngày làm việc")


def working_days(kb: KnowledgeBase, procedure_id: str) -> int:
    """The longest time the procedure's `time` section allows, in working days (a half
    day counts as one): the receipt promises no earlier date than the law."""
    section = kb.procedures[procedure_id].sections.get("time")
    text = section.text if section and section.text else ""
    days = [int(n) for n in _DAYS.findall(text)]
    if _HALF_DAY.search(text):
        days.append(1)
    if not days:
        raise ValueError(f"{procedure_id}: no 'N ngày làm việc' in its time section")
    return max(days)


def fee_lines(kb: KnowledgeBase, procedure_id: str, day: date, online: bool = True) -> list[str]:
    """The fees in force on `day`; for an online dossier, the online rates where the
    procedure has them. Unverified amounts carry ⚠."""
    section = kb.procedures[procedure_id].sections.get("fee")
    if section is None:
        return []
    fees = [f for f in fees_in_force(section.fees, day)
            if "danh sách" not in f.label.lower()]  # one applicant
    if online:
        fees = [f for f in fees if "trực tuyến" in f.label.lower()] or \
               [f for f in fees if "trực tiếp" not in f.label.lower() and "bưu chính" not in f.label.lower()]
    return [f"{fee.label}: {format_money(fee.amount)}" + ("" if fee.validity.verified else " ⚠")
            for fee in fees]
