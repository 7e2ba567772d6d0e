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
LOGIN_BUTTON = {"title": "Đăng nhập", "payload": "/login"}


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
        id_number = session.profile.get("id_number") if token else None
        draft = find_draft_reference(text)
        code = find_dossier_code(entity or "") or find_dossier_code(text)
        if draft:
            await self._draft(draft, client, token, id_number, dispatcher)
        elif code:
            await self._dossier(code, client, token, dispatcher)
        elif token:
            await self._mine(client, token, id_number, dispatcher)
        elif (last := tracker.get_slot("last_dossier_reference")):
            await (self._draft(last, client, token, id_number, dispatcher) if last.startswith("NHAP-")
                   else self._dossier(last, client, token, dispatcher))
        else:
            dispatcher.utter_message(
                text="Dạ, anh/chị nhắn mã hồ sơ (in trên phiếu tiếp nhận, dạng H22.06.685-261122-0001), hoặc "
                     "đăng nhập để em xem các hồ sơ của anh/chị.",
                buttons=[LOGIN_BUTTON])
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

    async def _mine(self, client: PortalClient, token: str, id_number: str | None,
                    dispatcher: CollectingDispatcher) -> None:
        drafts = await self._own_drafts(client, token, id_number)  # first: a resent one is then listed
        await self._portal_dossiers(client, token, dispatcher)
        if drafts:
            dispatcher.utter_message(text="Dạ, các hồ sơ tạm của anh/chị (em lưu lại khi Cổng dịch vụ "
                                          "công gián đoạn):\n" + "\n".join(_draft_line(e) for e in drafts))

    async def _own_drafts(self, client: PortalClient, token: str,
                          id_number: str | None) -> list[ob.OutboxEntry]:
        """The citizen's drafts not sent yet; those waiting for a login are sent now with this one."""
        outbox = ob.Outbox(knowledge_service().settings.outbox_db)
        drafts = []
        for entry in outbox.drafts_of(id_number or ""):
            if entry.status == ob.NEEDS_LOGIN:
                entry = await ob.resend_as_owner(outbox, entry, id_number or "", token, client) or entry
            drafts.append(entry)
        return drafts

    async def _portal_dossiers(self, client: PortalClient, token: str,
                               dispatcher: CollectingDispatcher) -> None:
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

    async def _draft(self, reference: str, client: PortalClient, token: str | None, id_number: str | None,
                     dispatcher: CollectingDispatcher) -> None:
        outbox = ob.Outbox(knowledge_service().settings.outbox_db)
        entry = outbox.get(reference)
        if entry is None:
            dispatcher.utter_message(text=f"Dạ, em không tìm thấy hồ sơ tạm mã {reference}.")
            return
        if entry.status == ob.NEEDS_LOGIN:
            resent = await self._resend(outbox, entry, client, token, id_number, dispatcher)
            if resent is None:
                return
            entry = resent
        elif entry.status == ob.PENDING:  # try now: the portal may be back before the worker's next pass
            await ob.send_entry(outbox, entry, client)
            entry = outbox.get(reference) or entry
        await self._report_draft(entry, client, token, dispatcher)

    async def _resend(self, outbox: ob.Outbox, entry: ob.OutboxEntry, client: PortalClient, token: str | None,
                      id_number: str | None, dispatcher: CollectingDispatcher) -> ob.OutboxEntry | None:
        """A draft waiting for a login, sent with this session's login if it is its owner's;
        None when it cannot be sent from here (the citizen has been told why)."""
        reference = entry.draft_reference
        if entry.owner is None:
            dispatcher.utter_message(text=f"Dạ, hồ sơ tạm {reference} chưa gửi được vì phiên đăng nhập đã "
                                          "hết hạn khi cổng gián đoạn. Hồ sơ này được lưu trước khi hệ thống "
                                          "ghi nhận người khai nên không thể gửi lại từ bất kỳ phiên nào. "
                                          "Anh/chị đăng nhập và khai lại giúp em (thông tin trong cơ sở dữ "
                                          "liệu được điền sẵn).")
            return None
        if not token:
            dispatcher.utter_message(text=f"Dạ, hồ sơ tạm {reference} chưa gửi được vì phiên đăng nhập đã "
                                          "hết hạn khi cổng gián đoạn. Hồ sơ vẫn được giữ và sẽ được gửi sau "
                                          "khi anh/chị đăng nhập lại. Anh/chị bấm \"Đăng nhập\", rồi nhắn "
                                          f"\"tra cứu {reference}\" để em gửi hồ sơ ạ.",
                                     buttons=[LOGIN_BUTTON])
            return None
        if not outbox.owned_by(entry, id_number):
            dispatcher.utter_message(text=f"Dạ, hồ sơ tạm {reference} thuộc phiên đăng nhập của một công dân "
                                          "khác nên không gửi được từ phiên này ạ.")
            return None
        resent = await ob.resend_as_owner(outbox, entry, id_number or "", token, client)
        return resent or outbox.get(reference) or entry  # None: sent meanwhile from elsewhere

    async def _report_draft(self, entry: ob.OutboxEntry, client: PortalClient, token: str | None,
                            dispatcher: CollectingDispatcher) -> None:
        reference = entry.draft_reference
        if entry.status == ob.SUBMITTED and entry.dossier_code:
            dispatcher.utter_message(text=f"Dạ, hồ sơ tạm {reference} đã được gửi lên "
                                          f"Cổng dịch vụ công với mã {entry.dossier_code}.")
            await self._dossier(entry.dossier_code, client, token, dispatcher)
        elif entry.status == ob.PENDING:
            dispatcher.utter_message(text=f"Dạ, hồ sơ tạm {reference} vẫn đang chờ Cổng dịch vụ công "
                                          f"hoạt động lại (đã thử {entry.attempts} lần). "
                                          "Hồ sơ được giữ an toàn và sẽ tự gửi.")
        elif entry.status == ob.NEEDS_LOGIN:  # the portal refused this session's login too
            dispatcher.utter_message(text=f"Dạ, hồ sơ tạm {reference} vẫn chưa gửi được vì Cổng dịch vụ công "
                                          "không nhận phiên đăng nhập hiện tại. Hồ sơ vẫn được giữ; anh/chị "
                                          f"đăng nhập lại rồi nhắn \"tra cứu {reference}\" giúp em.",
                                     buttons=[LOGIN_BUTTON])
        else:
            dispatcher.utter_message(text=f"Dạ, Cổng dịch vụ công không nhận hồ sơ tạm {reference}: "
                                          f"{entry.last_error}")


def _draft_line(entry: ob.OutboxEntry) -> str:
    """One of the citizen's drafts in the "hồ sơ của tôi" list, after any resend."""
    name = _procedure_name(entry.procedure_id) or entry.procedure_id
    head = f"• {entry.draft_reference} ({name}): "
    if entry.status == ob.SUBMITTED:
        return head + ("em đã gửi lại bằng phiên đăng nhập này, Cổng dịch vụ công đã tiếp nhận "
                       f"với mã {entry.dossier_code}")
    if entry.status == ob.PENDING:
        return head + "đang chờ Cổng dịch vụ công hoạt động lại, hồ sơ được giữ an toàn và sẽ tự gửi"
    if entry.status == ob.NEEDS_LOGIN:
        return head + "Cổng dịch vụ công chưa nhận phiên đăng nhập hiện tại, anh/chị đăng nhập lại giúp em"
    return head + f"Cổng dịch vụ công không nhận hồ sơ: {entry.last_error}"
