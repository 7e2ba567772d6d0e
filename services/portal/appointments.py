"""Appointments at the commune police for the ID-card procedures, which need the citizen
in person (photo, fingerprints, iris).

Each working day has a morning and an afternoon slot of `PORTAL_SLOT_CAPACITY` citizens.
Working days skip weekends and the fixed-date public holidays (1/1, 30/4, 1/5, 2/9); the
lunar holidays (Tết, Giỗ Tổ) move every year and are not modelled yet. Booking starts the
next day and reaches `HORIZON_DAYS` ahead.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.portal.db import Appointment, Citizen, Dossier
from services.portal.deps import DbDep, PortalState, StateDep, local_time
from services.portal.security import CitizenDep
from services.portal.units import Commune, commune

router = APIRouter(prefix="/api/appointments", tags=["lịch hẹn"])

ID_CARD_PROCEDURES = ("cap-the-can-cuoc", "cap-doi-the-can-cuoc", "cap-lai-the-can-cuoc")
FIXED_HOLIDAYS = {(1, 1), (4, 30), (5, 1), (9, 2)}
HORIZON_DAYS = 60
MAX_DAYS = 31
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


@dataclass(frozen=True)
class Period:
    label: str
    hours: str


PERIODS: dict[str, Period] = {"morning": Period("Sáng", "7:30–11:30"),
                              "afternoon": Period("Chiều", "13:30–17:00")}


class SlotOut(BaseModel):
    date: date
    period: str
    label: str
    capacity: int
    booked: int
    available: int


class BookingIn(BaseModel):
    procedure_id: str
    commune_code: int
    date: date
    period: Literal["morning", "afternoon"]
    dossier_code: str | None = None


class AppointmentOut(BaseModel):
    id: int
    procedure_id: str
    commune_code: int
    commune: str
    date: date
    period: str
    label: str
    status: str
    dossier_code: str | None
    created_at: datetime


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


def slot_label(day: date, period: str) -> str:
    p = PERIODS[period]
    return f"{p.label} {WEEKDAYS[day.weekday()].lower()} {day:%d/%m/%Y} ({p.hours})"


def _known_commune(code: int) -> Commune:
    unit = commune(code)
    if unit is None:
        raise HTTPException(422, f"Không có xã/phường mã {code} (đơn vị hành chính 2025).")
    return unit


def _booked(session: Session, commune_code: int, first: date, last: date) -> dict[tuple[date, str], int]:
    rows = session.execute(
        select(Appointment.day, Appointment.period, func.count())
        .where(Appointment.commune_code == commune_code, Appointment.seat.is_not(None),
               Appointment.day.between(first, last))
        .group_by(Appointment.day, Appointment.period))
    return {(day, period): count for day, period, count in rows}


@router.get("/slots", response_model=list[SlotOut])
def list_slots(
    state: StateDep, session: DbDep, commune_code: int,
    start: Annotated[date | None, Query(alias="from", description="Ngày đầu, YYYY-MM-DD (mặc định: hôm nay)")] = None,
    days: Annotated[int, Query(description=f"Số ngày (1–{MAX_DAYS})")] = 14,
) -> list[SlotOut]:
    """Slots of the working days in [from, from + days), from tomorrow on."""
    _known_commune(commune_code)
    today = state.today()
    first = start or today
    if first < today:
        raise HTTPException(422, f"Ngày bắt đầu {first:%d/%m/%Y} đã qua; anh/chị chọn từ hôm nay trở đi.")
    if not 1 <= days <= MAX_DAYS:
        raise HTTPException(422, f"Số ngày phải từ 1 đến {MAX_DAYS}.")
    last = min(first + timedelta(days=days - 1), today + timedelta(days=HORIZON_DAYS))
    booked = _booked(session, commune_code, first, last)
    capacity = state.settings.portal_slot_capacity
    slots = []
    day = max(first, today + timedelta(days=1))
    while day <= last:
        if is_working_day(day):
            for period in PERIODS:
                taken = booked.get((day, period), 0)
                slots.append(SlotOut(date=day, period=period, label=slot_label(day, period), capacity=capacity,
                                     booked=taken, available=max(capacity - taken, 0)))
        day += timedelta(days=1)
    return slots


def appointment_out(appointment: Appointment) -> AppointmentOut:
    unit = commune(appointment.commune_code)
    return AppointmentOut(
        id=appointment.id, procedure_id=appointment.procedure_id, commune_code=appointment.commune_code,
        commune=unit.label if unit else str(appointment.commune_code), date=appointment.day,
        period=appointment.period, label=slot_label(appointment.day, appointment.period),
        status=appointment.status, dossier_code=appointment.dossier_code,
        created_at=local_time(appointment.created_at))


def _check_booking(body: BookingIn, citizen: Citizen, state: PortalState, session: Session) -> None:
    if body.procedure_id not in ID_CARD_PROCEDURES:
        raise HTTPException(422, "Chỉ đặt lịch hẹn cho thủ tục cấp, cấp đổi, cấp lại thẻ căn cước.")
    _known_commune(body.commune_code)
    today = state.today()
    if body.date <= today:
        raise HTTPException(422, "Lịch hẹn phải từ ngày mai trở đi.")
    if body.date > today + timedelta(days=HORIZON_DAYS):
        raise HTTPException(422, f"Chỉ đặt lịch trước tối đa {HORIZON_DAYS} ngày.")
    if not is_working_day(body.date):
        raise HTTPException(422, f"Ngày {body.date:%d/%m/%Y} không phải ngày làm việc; anh/chị chọn ngày khác.")
    if body.dossier_code:
        dossier = session.scalar(select(Dossier).where(Dossier.code == body.dossier_code.strip().upper()))
        if dossier is None or dossier.citizen_id != citizen.id or dossier.procedure_id != body.procedure_id:
            raise HTTPException(422, "Mã hồ sơ không khớp với hồ sơ cùng thủ tục của anh/chị.")


def _active(session: Session, citizen: Citizen, procedure_id: str) -> Appointment | None:
    return session.scalar(select(Appointment).where(Appointment.active_key == f"{citizen.id}:{procedure_id}"))


@router.post("", response_model=AppointmentOut, status_code=201)
def book(body: BookingIn, citizen: CitizenDep, state: StateDep, session: DbDep) -> AppointmentOut:
    """Books a seat. Repeating the same booking returns it (a retried request is harmless);
    a second booking for the same procedure, or a full slot, gets 409."""
    _check_booking(body, citizen, state, session)
    capacity = state.settings.portal_slot_capacity
    for _ in range(5):  # a seat taken by a concurrent booking: look again
        current = _active(session, citizen, body.procedure_id)
        if current is not None and current.day < state.today():  # a past appointment no longer blocks
            current.seat, current.active_key = None, None
            session.flush()
            current = None
        if current is not None:
            if (current.commune_code, current.day, current.period) == (body.commune_code, body.date, body.period):
                return appointment_out(current)
            raise HTTPException(409, f"Anh/chị đã có lịch hẹn cho thủ tục này: {slot_label(current.day, current.period)}"
                                     "; hủy lịch đó trước khi đặt lịch khác.")
        taken = set(session.scalars(select(Appointment.seat).where(
            Appointment.commune_code == body.commune_code, Appointment.day == body.date,
            Appointment.period == body.period, Appointment.seat.is_not(None))))
        free = next((seat for seat in range(1, capacity + 1) if seat not in taken), None)
        if free is None:
            raise HTTPException(409, f"{slot_label(body.date, body.period)} đã đủ người; anh/chị chọn khung giờ khác.")
        appointment = Appointment(
            citizen_id=citizen.id, procedure_id=body.procedure_id, commune_code=body.commune_code, day=body.date,
            period=body.period, seat=free, active_key=f"{citizen.id}:{body.procedure_id}",
            dossier_code=body.dossier_code.strip().upper() if body.dossier_code else None, status="booked",
            created_at=state.now())
        session.add(appointment)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            continue
        return appointment_out(appointment)
    raise HTTPException(503, "Hệ thống đặt lịch đang bận; anh/chị thử lại sau ít giây.")


@router.post("/{appointment_id}/cancel", response_model=AppointmentOut)
def cancel(appointment_id: int, citizen: CitizenDep, session: DbDep) -> AppointmentOut:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None or appointment.citizen_id != citizen.id:
        raise HTTPException(404, "Không tìm thấy lịch hẹn này của anh/chị.")
    appointment.seat, appointment.active_key, appointment.status = None, None, "cancelled"
    session.commit()
    return appointment_out(appointment)
