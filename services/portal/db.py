"""The sandbox's storage: SQLAlchemy 2 models and the engine/session factory.

SQLite by default (one file under var/), PostgreSQL by URL (PORTAL_DATABASE_URL); nothing
here is specific to either. Times are stored as naive UTC and come back as aware UTC
(`UtcDateTime`), because SQLite keeps no time zone and the portal answers in Vietnam time.
Secrets (login tokens, QR sessions, one-time codes) are stored only as hashes.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the portal database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON}


class Household(Base):
    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    address_detail: Mapped[str] = mapped_column(String(200))
    commune_code: Mapped[int]
    members: Mapped[list[Citizen]] = relationship(back_populates="household", order_by="Citizen.id")


class Citizen(Base):
    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_number: Mapped[str] = mapped_column(String(12), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(3))
    phone: Mapped[str | None] = mapped_column(String(10))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    relation: Mapped[str] = mapped_column(String(30))  # to the household head: chủ hộ, vợ, con…
    temporary_detail: Mapped[str | None] = mapped_column(String(200))
    temporary_commune_code: Mapped[int | None]
    household: Mapped[Household] = relationship(back_populates="members")


class AccessToken(Base):
    """A citizen's login: only the SHA-256 of the bearer token is kept."""

    __tablename__ = "access_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"))
    method: Mapped[str] = mapped_column(String(10))  # otp | qr
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class OneTimeCode(Base):
    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    sandbox_code: Mapped[str | None] = mapped_column(String(6))  # kept only when PORTAL_SANDBOX=1
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    failed_attempts: Mapped[int] = mapped_column(default=0)
    used: Mapped[bool] = mapped_column(default=False)


class QrLogin(Base):
    """A kiosk's QR login. The kiosk holds `session_id` (stored hashed) and polls with it;
    the QR code carries only `challenge`, so whoever sees the screen cannot collect the token."""

    __tablename__ = "qr_logins"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    challenge: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"))  # set on approval
    approved_at: Mapped[datetime | None]
    token_collected: Mapped[bool] = mapped_column(default=False)


class Dossier(Base):
    __tablename__ = "dossiers"
    __table_args__ = (UniqueConstraint("citizen_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    procedure_id: Mapped[str] = mapped_column(String(60))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    commune_code: Mapped[int]
    agency_code: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    fields: Mapped[dict[str, Any]]
    idempotency_key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    citizen: Mapped[Citizen] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id", cascade="all")
    history: Mapped[list[StatusChange]] = relationship(order_by="StatusChange.id", cascade="all")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class StatusChange(Base):
    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(10))  # citizen | officer
    at: Mapped[datetime]


class DailySequence(Base):
    """The last dossier number given by an agency on a (Vietnam) day."""

    __tablename__ = "daily_sequences"

    agency_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[str] = mapped_column(String(6), primary_key=True)  # YYMMDD
    last: Mapped[int] = mapped_column(Integer)


class Appointment(Base):
    """A booked half-day slot. Capacity and "one active booking per citizen and procedure"
    are database constraints (seat numbers, active_key), so two requests racing for the
    last seat cannot both win; a cancelled booking frees both."""

    __tablename__ = "appointments"
    __table_args__ = (UniqueConstraint("commune_code", "day", "period", "seat"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    procedure_id: Mapped[str] = mapped_column(String(60))
    commune_code: Mapped[int]
    day: Mapped[date] = mapped_column(Date)
    period: Mapped[str] = mapped_column(String(10))  # morning | afternoon
    seat: Mapped[int | None]  # 1..capacity while active, NULL once cancelled
    active_key: Mapped[str | None] = mapped_column(String(80), unique=True)  # "<citizen>:<procedure>"
    dossier_code: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10))  # booked | cancelled
    created_at: Mapped[datetime]


def make_engine(url: str) -> Engine:
    """An engine for `url`; for SQLite, the file's folder is created, threads may share the
    connection pool (FastAPI runs sync handlers in a thread pool) and foreign keys are on."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def make_sessions(engine: Engine) -> sessionmaker:
    Base.metadata.create_all(engine)
    return sessionmaker(engine, expire_on_commit=False)
