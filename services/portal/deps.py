"""What every route needs: the app's state (settings, database, clock) and a DB session.

All mutable state lives in `PortalState` on `app.state.portal`, created by the app's
lifespan, so two apps (e.g. two tests) never share a database or a clock.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from assistant.settings import Settings

VIETNAM = timezone(timedelta(hours=7), "ICT")  # no daylight saving time


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class PortalState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker
    clock: Callable[[], datetime] = utc_now  # aware UTC; tests move it

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """Today in Vietnam: dossier codes and appointment days follow the local date."""
        return self.clock().astimezone(VIETNAM).date()


def get_state(request: Request) -> PortalState:
    return request.app.state.portal


def get_db(state: Annotated[PortalState, Depends(get_state)]) -> Iterator[Session]:
    """One session per request; routes commit what they change, anything else is rolled back."""
    with state.sessions() as session:
        yield session


StateDep = Annotated[PortalState, Depends(get_state)]
DbDep = Annotated[Session, Depends(get_db)]


def local_time(moment: datetime) -> datetime:
    return moment.astimezone(VIETNAM)
