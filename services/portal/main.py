"""The public-service portal sandbox (port 8100): `services.portal.main:app`.

It plays the national portal for the assistant: a resident registry, citizen login (OTP
and VNeID-style QR), dossiers with their codes and statuses, and appointment slots. The
action server reaches it only through assistant/clients/portal.py, configured by URL and
credentials, so a real portal replaces it by configuration. See docs/portal-sandbox.md.

`create_app(settings)` builds an app with its own database and clock (tests make one per
test); `app` is the one uvicorn serves, configured from the environment.
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from assistant.settings import Settings, load_settings
from services.portal import appointments, auth, citizens, dossiers, logs, sandbox
from services.portal.db import Citizen, make_engine, make_sessions
from services.portal.deps import DbDep, PortalState, StateDep, utc_now
from services.portal.registry import load_registry_if_empty
from services.portal.security import check_client_key

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] = utc_now) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.portal_database_url)
        state = PortalState(settings=settings, engine=engine, sessions=make_sessions(engine), clock=clock)
        with state.sessions() as session:
            load_registry_if_empty(session)
        if not settings.portal_officer_token:
            logger.warning("PORTAL_OFFICER_TOKEN is not set: no officer can change a dossier's status")
        app.state.portal = state
        yield
        engine.dispose()

    app = FastAPI(title="Cổng dịch vụ công — hộp cát (Trợ lý 06)", version="0.1.0", lifespan=lifespan)
    api = [Depends(check_client_key)]
    for module in (auth, citizens, dossiers, appointments):
        app.include_router(module.router, dependencies=api)
    if settings.portal_sandbox:
        app.include_router(sandbox.router)
    app.add_exception_handler(RequestValidationError, vietnamese_validation_error)
    app.add_api_route("/health", health, methods=["GET"])
    logs.install()
    return app


async def vietnamese_validation_error(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's own 422 body is English; say in Vietnamese which field is wrong."""
    assert isinstance(error, RequestValidationError)
    names = ", ".join(dict.fromkeys(".".join(str(part) for part in e.get("loc", ())[1:]) or "?"
                                    for e in error.errors()))
    return JSONResponse(status_code=422, content={
        "detail": f"Dữ liệu không hợp lệ: {names}. Anh/chị kiểm tra lại (ngày dạng YYYY-MM-DD, số là chữ số).",
        "errors": jsonable_encoder(error.errors(), exclude={"input"}),
    })


def health(state: StateDep, session: DbDep) -> dict:
    return {"status": "ok", "citizens": session.scalar(select(func.count()).select_from(Citizen)),
            "sandbox": state.settings.portal_sandbox}


app = create_app()
