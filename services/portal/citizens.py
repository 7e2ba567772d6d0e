"""The logged-in citizen's own registry record, so that forms pre-fill what the state
already knows instead of asking the citizen to type it again."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.portal.registry import profile_out
from services.portal.security import CitizenDep

router = APIRouter(prefix="/api/citizens", tags=["công dân"])


@router.get("/me")
def me(citizen: CitizenDep) -> dict[str, Any]:
    return profile_out(citizen)
