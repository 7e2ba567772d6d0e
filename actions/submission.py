"""Sending a confirmed dossier to the portal and giving the citizen the receipt, or
keeping it in the outbox when the portal does not answer."""
from __future__ import annotations

import base64
import logging
from datetime import date, datetime, timedelta, timezone
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.citizen_session import CitizenSession
from actions.knowledge_actions import knowledge_service
from assistant.clients.portal import (
    Dossier,
    PortalAuthError,
    PortalClient,
    PortalError,
    PortalRejected,
    PortalUnavailable,
)
from assistant.dossiers.fields import show_value
from assistant.dossiers.journeys import Journey, Kind, fields_to_ask
from assistant.dossiers.outbox import Outbox
from assistant.dossiers.receipt import ReceiptData, qr_png, receipt_pdf, receipt_text
from assistant.dossiers.receipt_facts import fee_lines, working_days
from assistant.dossiers.workdays import add_working_days
from assistant.identity import mask_id_number

logger = logging.getLogger(__name__)

# channels that show a printable receipt (the kiosk's web chat and the REST API)
PRINTING_CHANNELS = {"rest", "kiosk", "socketio"}
VIETNAM = timezone(timedelta(hours=7))


def dossier_payload(chosen: Journey, tracker: Tracker, profile: dict[str, Any]) -> dict[str, Any]:
    """The portal request: the form's fields (asked or filled from the registry) and the
    commune that receives the dossier."""
    fields: dict[str, Any] = {"form": chosen.form}
    for spec in chosen.fields:
        value = tracker.get_slot(spec.slot)
        if value is None and spec.only_if_missing:
            value = profile.get(spec.only_if_missing)
        fields[spec.slot.removeprefix("field_")] = value
    place = receiving_place(chosen, tracker, profile)
    return {"fields": fields, "commune_code": place.get("commune_code")}


def receiving_place(chosen: Journey, tracker: Tracker, profile: dict[str, Any]) -> dict[str, Any]:
    """The address whose commune police receives the dossier: the new place asked in the
    form, else the stay being extended, else the permanent residence ({} if none)."""
    address = tracker.get_slot("field_address")
    if address:
        return address
    if chosen.needs_temporary_address and profile.get("temporary"):
        return profile["temporary"]
    return profile.get("permanent") or {}


async def submit_and_report(chosen: Journey, tracker: Tracker, session: CitizenSession, client: PortalClient,
                            dispatcher: CollectingDispatcher, now: datetime) -> str:
    """Submit; returns `submitted:<code>`, `queued:<draft reference>`, `login_again` or
    `fix` (the portal refused a field: the summary is shown again)."""
    service = knowledge_service()
    key = tracker.get_slot("dossier_key")
    payload = dossier_payload(chosen, tracker, session.profile)
    if not session.logged_in(now):
        dispatcher.utter_message(text="Dạ, phiên đăng nhập đã hết hạn trước khi nộp. Anh/chị đăng nhập "
                                      "lại; thông tin đã khai vẫn được giữ và hồ sơ chỉ được nộp một lần.")
        return "login_again"
    try:
        dossier = await client.submit_dossier(session.token, chosen.procedure_id, payload["fields"], key,
                                              commune_code=payload["commune_code"])
    except PortalUnavailable as error:
        entry = Outbox(service.settings.outbox_db).put(key, chosen.procedure_id, session.token, payload,
                                                       str(error), now,
                                                       owner=session.profile.get("id_number"),
                                                       conversation=tracker.sender_id)
        logger.warning("portal unavailable; dossier kept as %s (%s)", entry.draft_reference, error)
        _record_dossier(service, tracker, chosen.procedure_id, "queued")
        dispatcher.utter_message(text=(
            f"Dạ, Cổng dịch vụ công đang gián đoạn nên hồ sơ chưa gửi được. Em đã lưu hồ sơ với mã tạm "
            f"{entry.draft_reference} và sẽ tự gửi ngay khi cổng hoạt động lại; hồ sơ không bị mất "
            f"và không bị nộp trùng. Anh/chị nhắn \"tra cứu {entry.draft_reference}\" để xem hồ sơ "
            "đã được tiếp nhận chưa."))
        return f"queued:{entry.draft_reference}"
    except PortalAuthError:
        dispatcher.utter_message(text="Dạ, phiên đăng nhập đã hết hạn. Anh/chị đăng nhập lại; thông "
                                      "tin đã khai vẫn được giữ và hồ sơ chỉ được nộp một lần.")
        return "login_again"
    except PortalRejected as error:
        dispatcher.utter_message(text=f"Dạ, Cổng dịch vụ công chưa nhận hồ sơ: {error} "
                                      "Anh/chị sửa lại giúp em.")
        return "fix"
    logger.info("dossier %s submitted (%s) for %s", dossier.code, chosen.procedure_id,
                mask_id_number(session.profile.get("id_number", "")))
    _record_dossier(service, tracker, chosen.procedure_id, "submitted")
    appointment = await _book(chosen, tracker, session, client, dossier, payload, dispatcher)
    data = receipt_data(chosen, tracker, session.profile, dossier, appointment, now)
    _send_receipt(data, dispatcher, (tracker.get_latest_input_channel() or "rest").split("_")[0])
    return f"submitted:{dossier.code}"


def _record_dossier(service, tracker: Tracker, procedure_id: str, outcome: str) -> None:
    """For the officers' dashboard: when, which channel, which procedure; nothing of the citizen."""
    if service.stats is not None:
        service.stats.safe_record((tracker.get_latest_input_channel() or "rest").split("_")[0], None,
                                  procedure_id, outcome, kind="dossier")


async def _book(chosen: Journey, tracker: Tracker, session: CitizenSession, client: PortalClient,
                dossier: Dossier, payload: dict[str, Any], dispatcher: CollectingDispatcher) -> str | None:
    """The appointment for the ID card journeys, linked to the dossier."""
    slot = tracker.get_slot("field_appointment")
    if not chosen.in_person or not slot:
        return None
    try:
        booked = await client.book_appointment(session.token, chosen.procedure_id, payload["commune_code"],
                                               date.fromisoformat(slot["date"]), slot["period"],
                                               dossier.code)
    except PortalError as error:
        logger.warning("appointment for %s not booked: %s", dossier.code, error)
        dispatcher.utter_message(text=f"Dạ, hồ sơ đã nộp nhưng em chưa đặt được lịch hẹn ({error}). "
                                      "Anh/chị liên hệ Công an xã để hẹn ngày đến chụp ảnh, lấy vân tay.")
        return None
    return f"{booked.label}, Công an {booked.commune}"


def receipt_data(chosen: Journey, tracker: Tracker, profile: dict[str, Any], dossier: Dossier,
                 appointment: str | None, now: datetime) -> ReceiptData:
    service = knowledge_service()
    today = service.settings.today()
    procedure = service.kb.procedures[chosen.procedure_id]
    fields = tuple((spec.label, show_value(spec, tracker.get_slot(spec.slot)))
                   for spec in fields_to_ask(chosen, profile) if spec.kind is not Kind.APPOINTMENT)
    fees = fee_lines(service.kb, chosen.procedure_id, today)
    pay = ("nộp khi đến Công an xã theo lịch hẹn" if chosen.in_person
           else "thanh toán trực tuyến trên Cổng Dịch vụ công khi có "
                "thông báo, hoặc nộp tại Công an xã khi nhận kết quả")
    receiving = _receiving_office(tracker, profile, chosen)
    next_steps = ("Đến Công an xã đúng lịch hẹn, mang theo thẻ căn "
                  "cước/CCCD cũ (nếu còn) để chụp ảnh, lấy vân tay."
                  if chosen.in_person else
                  "Giữ điện thoại để cán bộ liên hệ khi cần xác minh. Nhắn \"tra cứu hồ sơ "
                  f"{dossier.code}\" để xem tiến độ.")
    return ReceiptData(
        dossier_code=dossier.code, procedure_id=chosen.procedure_id, procedure_name=procedure.name,
        submitted_at=dossier.created_at,
        expected_result=add_working_days(_received_on(dossier),
                                         working_days(service.kb, chosen.procedure_id)),
        fee_text=("; ".join(fees) + f". Cách nộp: {pay}.") if fees else "Không thu lệ phí.",
        receiving_office=receiving, applicant_name=profile.get("full_name", ""),
        applicant_id_masked=profile.get("id_masked", ""), fields=fields, appointment=appointment,
        next_steps=next_steps)


def _received_on(dossier: Dossier) -> date:
    """The day the portal received the dossier, in Vietnam: the count of working days starts after it."""
    created = dossier.created_at
    return (created.astimezone(VIETNAM) if created.tzinfo else created).date()


def _receiving_office(tracker: Tracker, profile: dict[str, Any], chosen: Journey) -> str:
    place = receiving_place(chosen, tracker, profile)
    return f"Công an {place['commune']}, {place['province']}" if place else "Công an xã nơi cư trú"


def _send_receipt(data: ReceiptData, dispatcher: CollectingDispatcher, channel: str) -> None:
    """The receipt as text everywhere; on the kiosk also the printable PDF and the QR code."""
    if channel in PRINTING_CHANNELS:
        dispatcher.utter_message(text=receipt_text(data), json_message={"receipt": {
            "dossier_code": data.dossier_code,
            "pdf_base64": base64.b64encode(receipt_pdf(data)).decode("ascii"),
            "qr_png_base64": base64.b64encode(qr_png(data.dossier_code)).decode("ascii")}})
    else:
        dispatcher.utter_message(text=receipt_text(data))
