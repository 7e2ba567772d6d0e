"""The resident registry: reading the committed fixture, checking it, loading it into an
empty database, and looking citizens up.

The fixture is checked before it is loaded (every ID number consistent with its holder's
birth date and sex, every commune a real 2025 unit under its code): a registry that
contradicts itself would make the assistant's validators look wrong.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assistant.identity import IdNumberError, id_number_problems, is_mobile_phone, parse_id_number
from services.portal.db import Citizen, Household
from services.portal.units import commune

logger = logging.getLogger(__name__)
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "residents.yml"


@dataclass(frozen=True)
class AddressRecord:
    detail: str
    commune_code: int
    commune: str
    province: str


@dataclass(frozen=True)
class ResidentRecord:
    id_number: str
    full_name: str
    date_of_birth: date
    sex: str
    phone: str | None
    relation: str
    temporary_address: AddressRecord | None


@dataclass(frozen=True)
class HouseholdRecord:
    code: str
    address: AddressRecord
    members: tuple[ResidentRecord, ...]


def read_fixture(path: Path = FIXTURE) -> list[HouseholdRecord]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [HouseholdRecord(h["code"], AddressRecord(**h["address"]), tuple(
        ResidentRecord(**{**m, "temporary_address": AddressRecord(**m["temporary_address"])
                          if m.get("temporary_address") else None})
        for m in h["members"])) for h in data["households"]]


def fixture_problems(households: list[HouseholdRecord]) -> list[str]:
    """Everything wrong with a registry, one line each (empty when it is sound)."""
    problems: list[str] = []
    seen_ids: set[str] = set()
    for household in households:
        heads = [m for m in household.members if m.relation == "chủ hộ"]
        if len(heads) != 1:
            problems.append(f"{household.code}: {len(heads)} chủ hộ")
        problems += _address_problems(household.code, household.address)
        for member in household.members:
            where = f"{household.code}/{member.full_name}"
            if member.id_number in seen_ids:
                problems.append(f"{where}: số định danh trùng")
            seen_ids.add(member.id_number)
            try:
                problems += [f"{where}: {p}" for p in id_number_problems(
                    parse_id_number(member.id_number), member.date_of_birth, member.sex)]
            except IdNumberError as error:
                problems.append(f"{where}: {error}")
            if member.phone is not None and not is_mobile_phone(member.phone):
                problems.append(f"{where}: số điện thoại {member.phone!r} không hợp lệ")
            if member.temporary_address:
                problems += _address_problems(where, member.temporary_address)
    return problems


def _address_problems(where: str, address: AddressRecord) -> list[str]:
    unit = commune(address.commune_code)
    if unit is None:
        return [f"{where}: không có xã/phường mã {address.commune_code}"]
    if (unit.name, unit.province) != (address.commune, address.province):
        return [(f"{where}: mã {address.commune_code} là {unit.label}, không phải "
                 f"{address.commune}, {address.province}")]
    return []


def load_registry_if_empty(session: Session, path: Path = FIXTURE) -> int:
    """Loads the fixture into an empty registry; returns how many citizens it added."""
    if session.scalar(select(func.count()).select_from(Citizen)):
        return 0
    households = read_fixture(path)
    problems = fixture_problems(households)
    if problems:
        raise ValueError(f"{path} is inconsistent: " + "; ".join(problems[:5]))
    count = 0
    for record in households:
        household = Household(code=record.code, address_detail=record.address.detail,
                              commune_code=record.address.commune_code)
        for m in record.members:
            temporary = m.temporary_address
            household.members.append(Citizen(
                id_number=m.id_number, full_name=m.full_name, date_of_birth=m.date_of_birth, sex=m.sex,
                phone=m.phone, relation=m.relation,
                temporary_detail=temporary.detail if temporary else None,
                temporary_commune_code=temporary.commune_code if temporary else None))
            count += 1
        session.add(household)
    session.commit()
    logger.info("registry loaded: %d households, %d citizens", len(households), count)
    return count


def find_citizen(session: Session, id_number: str) -> Citizen | None:
    return session.scalar(select(Citizen).where(Citizen.id_number == id_number))


def address_out(detail: str | None, commune_code: int | None) -> dict[str, Any] | None:
    """An address as the API shows it (None when there is none)."""
    if commune_code is None:
        return None
    unit = commune(commune_code)
    return {"detail": detail, "commune_code": commune_code,
            "commune": unit.name if unit else None, "province": unit.province if unit else None,
            "text": ", ".join(part for part in (detail, unit.label if unit else None) if part)}


def profile_out(citizen: Citizen) -> dict[str, Any]:
    """What the registry holds about a citizen, for the citizen themself, an officer or the
    sandbox's demo list: the forms pre-fill from it."""
    household = citizen.household
    head = next((m for m in household.members if m.relation == "chủ hộ"), None)
    return {
        "id_number": citizen.id_number, "full_name": citizen.full_name,
        "date_of_birth": citizen.date_of_birth.isoformat(), "sex": citizen.sex, "phone": citizen.phone,
        "household": {"code": household.code, "relation": citizen.relation,
                      "head_name": head.full_name if head else None,
                      "head_id_number": head.id_number if head else None},
        "permanent_address": address_out(household.address_detail, household.commune_code),
        "temporary_address": address_out(citizen.temporary_detail, citizen.temporary_commune_code),
    }
