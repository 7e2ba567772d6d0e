"""`action_notify_drafts`: run by Rasa when the outbox worker asks for it
(`POST /conversations/<id>/execute`, see assistant/dossiers/outbox.py), never predicted.
It tells this conversation, and only this one, which of its drafts (NHAP-…) the worker has
since sent to the portal, with their dossier codes.

Each draft is announced once: the action claims this conversation's sent, unannounced
drafts and marks them announced in one statement before it speaks, so a second run (the
worker asking again after a timeout) says nothing. Drafts the citizen was already told of
in the chat (sent while they asked "tra cứu NHAP-…") are marked when sent and never
announced again. If the message cannot be delivered (Zalo or Meta refuses it), the
citizen still gets the result by asking, as before.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_actions import knowledge_service
from assistant.dossiers import outbox as ob

LAST_REFERENCE_SLOT = "last_dossier_reference"


def announcement(entry: ob.OutboxEntry) -> str:
    """The pushed message for one draft the portal has received."""
    procedure = knowledge_service().kb.procedures.get(entry.procedure_id)
    name = procedure.name if procedure else entry.procedure_id
    return (f"Dạ, hồ sơ tạm {entry.draft_reference} ({name}) đã được gửi lên Cổng dịch vụ công với mã "
            f"{entry.dossier_code}. Anh/chị nhắn \"tra cứu hồ sơ {entry.dossier_code}\" để xem tình trạng.")


class ActionNotifyDrafts(Action):
    def name(self) -> str:
        return ob.NOTIFY_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        outbox = ob.Outbox(knowledge_service().settings.outbox_db)
        entries = [e for e in outbox.claim_announcements(tracker.sender_id) if e.dossier_code]
        for entry in entries:
            dispatcher.utter_message(text=announcement(entry))
        # the newest one: "tra cứu hồ sơ" without a code then looks it up
        return [SlotSet(LAST_REFERENCE_SLOT, entries[-1].dossier_code)] if entries else []
