"""The logged-in citizen of one conversation, as kept in the tracker's slots.

Nothing about a citizen is kept in the action server: the token and the registry summary
live in slots of that conversation only, expire with the token, and are wiped by
"kết thúc", a restart or the end of the session.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from assistant.clients.portal import CitizenProfile, Login
from assistant.identity import mask_id_number

TOKEN, TOKEN_EXPIRES, CITIZEN = "portal_token", "portal_token_expires", "citizen"
LOGIN_STATE_SLOTS = (TOKEN, TOKEN_EXPIRES, CITIZEN, "login_id_number", "login_otp")


@dataclass(frozen=True)
class CitizenSession:
    token: str | None
    expires_at: datetime | None
    profile: dict[str, Any]

    @classmethod
    def from_tracker(cls, tracker: Tracker) -> CitizenSession:
        expires = tracker.get_slot(TOKEN_EXPIRES)
        return cls(tracker.get_slot(TOKEN), datetime.fromisoformat(expires) if expires else None,
                   tracker.get_slot(CITIZEN) or {})

    def logged_in(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(timezone.utc)
        return bool(self.token and self.expires_at and self.expires_at > now)

    def expired(self, now: datetime | None = None) -> bool:
        """Was logged in, and the token ran out."""
        return bool(self.token) and not self.logged_in(now)


def login_events(login: Login, profile: CitizenProfile) -> list[dict[str, Any]]:
    """Slots after a successful login; the typed ID number and code are not kept."""
    return [SlotSet(TOKEN, login.token), SlotSet(TOKEN_EXPIRES, login.expires_at.isoformat()),
            SlotSet(CITIZEN, profile_summary(profile)),
            SlotSet("login_id_number", None), SlotSet("login_otp", None)]


def logout_events() -> list[dict[str, Any]]:
    return [SlotSet(name, None) for name in LOGIN_STATE_SLOTS]


def profile_summary(profile: CitizenProfile) -> dict[str, Any]:
    """What the forms need from the registry record (plain JSON for a slot)."""
    def address(a: Any) -> dict[str, Any] | None:
        return None if a is None else {"text": a.text, "commune_code": a.commune_code, "commune": a.commune,
                                       "province": a.province}

    return {
        "id_number": profile.id_number, "id_masked": mask_id_number(profile.id_number),
        "full_name": profile.full_name, "date_of_birth": profile.date_of_birth.isoformat(),
        "sex": profile.sex,
        "phone": profile.phone, "relation": profile.relation, "head_name": profile.head_name,
        "permanent": address(profile.permanent_address), "temporary": address(profile.temporary_address),
    }
