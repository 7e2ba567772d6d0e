""""Tra cứu hồ sơ <mã>", "hồ sơ của tôi", "tra cứu NHAP-…": where a dossier stands and
what the citizen does next."""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.citizen_session import CitizenSession
from actions.journey_actions import lower_first
from actions.knowledge_actions import knowledge_service
from assistant.clients.portal import NotFound, PortalClient, PortalError, PortalUnavailable
from assistant.dossiers import outbox as ob
from assistant.dossiers.status import describe, find_dossier_code, find_draft_reference

logger = logging.getLogger(__name__)

UNAVAILABLE = ("Dạ, Cổng dịch vụ công đang gián đoạn nên em chưa "
               "tra cứu được. Anh/chị thử lại sau ít phút ạ.")


def _procedure_name(procedure_id: str) -> str | None:
    procedure = knowledge_service().kb.procedures.get(procedure_id)
    return procedure.name if procedure else None


class ActionCheckStatus(Action):
    def name(self) -> str:
        return "action_check_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        entity = next((e.get("value") for e in tracker.latest_message.get("entities", [])
                       if e.get("entity") == "dossier_code"), None)
        session = CitizenSession.from_tracker(tracker)
        client = PortalClient.from_settings(knowledge_service().settings)
        token = session.token if session.logged_in() else None
        draft = find_draft_reference(text)
        code = find_dossier_code(entity or "") or find_dossier_code(text)
        if draft:
            await self._draft(draft, client, token, dispatcher)
        elif code:
            await self._dossier(code, client, token, dispatcher)
        elif token:
            await self._mine(client, token, dispatcher)
        elif (last := tracker.get_slot("last_dossier_reference")):
            await (self._draft(last, client, token, dispatcher) if last.startswith("NHAP-")
                   else self._dossier(last, client, token, dispatcher))
        else:
            dispatcher.utter_message(
                text="Dạ, anh/chị nhắn mã hồ sơ (in trên phiếu tiếp nhận, dạng H22.06.685-261122-0001), hoặc "
                     "đăng nhập để em xem các hồ sơ của anh/chị.",
                buttons=[{"title": "Đăng nhập", "payload": "/login"}])
        return []

    async def _dossier(self, code: str, client: PortalClient, token: str | None,
                       dispatcher: CollectingDispatcher) -> None:
        try:
            dossier = await client.get_dossier(code, token)
        except NotFound:
            dispatcher.utter_message(text=f"Dạ, em không tìm thấy hồ sơ mã {code}. Anh/chị "
                                          "kiểm tra lại mã trên phiếu tiếp nhận giúp em.")
            return
        except PortalUnavailable:
            dispatcher.utter_message(text=UNAVAILABLE)
            return
        except PortalError as error:
            dispatcher.utter_message(text=f"Dạ, em chưa tra cứu được hồ sơ {code}: {error}")
            return
        dispatcher.utter_message(text="Dạ, " + lower_first(describe(dossier,
                                                                     _procedure_name(dossier.procedure_id))))

    async def _mine(self, client: PortalClient, token: str, dispatcher: CollectingDispatcher) -> None:
        try:
            dossiers = await client.my_dossiers(token)
        except PortalUnavailable:
            dispatcher.utter_message(text=UNAVAILABLE)
            return
        except PortalError as error:
            dispatcher.utter_message(text=f"Dạ, em chưa xem được hồ sơ của anh/chị: {error}")
            return
        if not dossiers:
            dispatcher.utter_message(text="Dạ, anh/chị chưa có hồ sơ nào nộp trực tuyến.")
            return
        newest = sorted(dossiers, key=lambda d: d.created_at, reverse=True)[:5]
        lines = [f"• {d.code} ({_procedure_name(d.procedure_id) or d.procedure_id}): "
                 f"{d.status_label}, cập nhật {d.updated_at:%d/%m/%Y}" for d in newest]
        dispatcher.utter_message(text="Dạ, các hồ sơ gần đây của anh/chị:\n" + "\n".join(lines) +
                                      "\nNhắn \"tra cứu hồ sơ <mã>\" để xem chi tiết và việc cần làm tiếp.")

    async def _draft(self, reference: str, client: PortalClient, token: str | None,
                     dispatcher: CollectingDispatcher) -> None:
        outbox = ob.Outbox(knowledge_service().settings.outbox_db)
        entry = outbox.get(reference)
        if entry is None:
            dispatcher.utter_message(text=f"Dạ, em không tìm thấy hồ sơ tạm mã {reference}.")
            return
        if entry.status == ob.PENDING:  # try now: the portal may be back before the worker's next pass
            await ob.send_entry(outbox, entry, client)
            entry = outbox.get(reference) or entry
        if entry.status == ob.SUBMITTED and entry.dossier_code:
            dispatcher.utter_message(text=f"Dạ, hồ sơ tạm {reference} đã được gửi lên "
                                          f"Cổng dịch vụ công với mã {entry.dossier_code}.")
            await self._dossier(entry.dossier_code, client, token, dispatcher)
        elif entry.status == ob.PENDING:
            dispatcher.utter_message(text=f"Dạ, hồ sơ tạm {reference} vẫn đang chờ Cổng dịch vụ công "
                                          f"hoạt động lại (đã thử {entry.attempts} lần). "
                                          "Hồ sơ được giữ an toàn và sẽ tự gửi.")
        elif entry.status == ob.NEEDS_LOGIN:
            dispatcher.utter_message(text=f"Dạ, hồ sơ tạm {reference} chưa gửi được vì phiên đăng nhập "
                                          "đã hết hạn khi cổng gián đoạn. Anh/chị đăng nhập và khai "
                                          "lại giúp em (thông tin trong cơ sở dữ liệu được điền sẵn).")
        else:
            dispatcher.utter_message(text=f"Dạ, Cổng dịch vụ công không nhận hồ sơ tạm {reference}: "
                                          f"{entry.last_error}")
