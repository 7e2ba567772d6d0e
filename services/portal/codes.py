"""Dossier codes in the portal's format: `<agency code>-<YYMMDD>-<4-digit daily sequence>`.

The receiving agency is the commune police. Its sandbox code is `H<PP>.<AA>.<BBB>`: "H"
(a provincial-level local authority, as agency codes under Decision 20/2020/QĐ-TTg begin),
PP the 2025 province code, then the commune's 5-digit national code split 2 + 3, e.g.
Phường Hồng Gai (06685, Quảng Ninh 22) -> H22.06.685, so a dossier received there on
15/12/2025 as the day's 72nd is H22.06.685-251215-0072. It is deterministic, unique per
commune, and matches the pattern the assistant already recognises in messages
(assistant/text/entities.py DOSSIER_CODE). A real portal's codes replace it unchanged:
the assistant only ever reads codes back.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from services.portal.db import DailySequence
from services.portal.units import Commune

DOSSIER_CODE = re.compile(r"H\d{2}\.\d{2}\.\d{3}-\d{6}-\d{4}")


def agency_code(commune: Commune) -> str:
    return f"H{commune.province_code:02d}.{commune.code // 1000:02d}.{commune.code % 1000:03d}"


def next_dossier_code(session: Session, agency: str, day: date) -> str:
    """The agency's next code for `day`, in the caller's transaction (rolled back with it).

    One INSERT … ON CONFLICT DO UPDATE … RETURNING: atomic in SQLite and PostgreSQL, so two
    submissions at the same moment never get the same number."""
    yymmdd = f"{day:%y%m%d}"
    statement = _upsert(session.get_bind().dialect.name)
    number = session.execute(
        statement.values(agency_code=agency, day=yymmdd, last=1)
        .on_conflict_do_update(index_elements=["agency_code", "day"],
                               set_={"last": DailySequence.last + 1})
        .returning(DailySequence.last)).scalar_one()
    if number > 9999:
        raise OverflowError(f"{agency} has received 9999 dossiers on {day}")
    return f"{agency}-{yymmdd}-{number:04d}"


def _upsert(dialect: str) -> Any:  # the dialect's Insert, which has on_conflict_do_update
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise NotImplementedError(f"dossier numbering needs SQLite or PostgreSQL, not {dialect}")
    return insert(DailySequence)
