"""Filing a dossier in conversation: one Rasa form (`journey_form`) whose questions depend
on the procedure and on what the registry already knows about the logged-in citizen.

    action_start_journey  -> journey_form (login if needed, the fields, the summary)
                          -> action_finish_journey (submit, receipt; or the outbox)

Everything a citizen says while the form is open reaches `validate_journey_form`, which
reads it as the answer to the question asked, a correction ("sửa thời hạn thành 6
tháng"), a cancel ("hủy"), or a knowledge-base question answered before the form goes on.
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from datetime import datetime, timedelta, timezone
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.citizen_session import CitizenSession, login_events, logout_events
from actions.knowledge_actions import ActionAnswerGeneral, ActionAnswerQuestion, knowledge_service
from actions.submission import submit_and_report
from assistant.clients.portal import (
    CitizenProfile,
    CitizenRef,
    Login,
    NotFound,
    PortalAuthError,
    PortalClient,
    PortalError,
    PortalUnavailable,
    new_idempotency_key,
)
from assistant.dossiers.corrections import parse_correction
from assistant.dossiers.fields import FieldContext, FieldError, check_head_id_number, read_field, show_value
from assistant.dossiers.journeys import (
    CONFIRM_SLOT,
    FIELD_SLOTS,
    JOURNEYS,
    LOGIN_SLOTS,
    FieldSpec,
    Journey,
    Kind,
    fields_to_ask,
    journey,
)
from assistant.dossiers.receipt_facts import fee_lines
from assistant.dossiers.validators import format_date, parse_id_number_field
from assistant.identity import mask_id_number
from assistant.text.normalize import fold

logger = logging.getLogger(__name__)

JOURNEY, KEY, OFFERED = "journey", "dossier_key", "offered_slots"
LOGIN_ONLY = "dang-nhap"  # the pseudo-journey of "đăng nhập": the login steps alone
QR_LOGIN_METADATA = "portal_login"  # set by the kiosk app after a VNeID QR approval
VIETNAM = timezone(timedelta(hours=7))
QUESTION_INTENTS = {"ask_overview", "ask_documents", "ask_fee", "ask_time", "ask_where", "ask_who",
                    "ask_forms", "ask_online", "ask_general"}
CANCEL_WORDS = {"huy", "huy bo", "huy ho so", "thoi", "thoi khong lam nua", "khong lam nua", "dung lai",
                "huy di", "thoi huy di", "bo qua ho so"}
AFFIRM_WORDS = {"dong y", "xac nhan", "nop", "nop di", "nop ho so", "ok", "oke", "co", "dung", "dung roi",
                "chinh xac", "xac nhan va nop", "gui", "gui di"}
RESEND_WORDS = {"gui lai", "gui lai ma", "gui lai otp", "chua nhan duoc ma", "khong nhan duoc ma"}


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message.get("text") or "").strip()


def _intent(tracker: Tracker) -> tuple[str | None, float]:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def _folded(tracker: Tracker) -> str:
    return fold(_text(tracker)).strip(" .!?")


def _portal() -> PortalClient:
    return PortalClient.from_settings(knowledge_service().settings)


def fresh_dossier_events() -> list[dict[str, Any]]:
    """Forget the dossier being filled (not the login)."""
    return [SlotSet(s, None) for s in (*FIELD_SLOTS, CONFIRM_SLOT, KEY, OFFERED)]


def _journey_buttons() -> list[dict[str, str]]:
    return [{"title": j.title.capitalize(), "payload": f'/start_procedure{{"procedure": "{j.procedure_id}"}}'}
            for j in JOURNEYS.values()]


def journey_problem(j: Journey, profile: dict[str, Any]) -> str | None:
    """Why this citizen cannot file this journey online (None: they can)."""
    if j.needs_temporary_address and not profile.get("temporary"):
        return ("Theo cơ sở dữ liệu, anh/chị chưa có nơi tạm trú đang còn hạn để gia hạn. Anh/chị cần "
                "đăng ký tạm trú mới (nhắn \"đăng ký tạm trú\").")
    if j.in_person and not profile.get("permanent"):
        return ("Em chưa tìm thấy nơi thường trú của anh/chị để đặt lịch tại Công an xã; "
                "anh/chị liên hệ Công an xã.")
    return None


class ActionStartJourney(Action):
    """start_procedure / login: open the form for a procedure that can be filed online,
    or explain and answer when it cannot."""

    def name(self) -> str:
        return "action_start_journey"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        intent, _ = _intent(tracker)
        session = CitizenSession.from_tracker(tracker)
        if intent == "login":
            if not session.logged_in() and (qr := qr_login(tracker)) is not None:
                updates = await _qr_logged_in(qr, dispatcher, None)
                if updates is not None:
                    dispatcher.utter_message(text="Anh/chị muốn nộp hồ sơ nào ạ?", buttons=_journey_buttons())
                    return [SlotSet(k, v) for k, v in updates.items()] + [SlotSet(JOURNEY, None)]
            if session.logged_in():
                dispatcher.utter_message(text="Dạ, anh/chị đang đăng nhập với tên "
                                              f"{session.profile['full_name']}. Anh/chị muốn "
                                              "nộp hồ sơ nào ạ?", buttons=_journey_buttons())
                return [SlotSet(JOURNEY, None)]
            return [SlotSet(JOURNEY, LOGIN_ONLY), *logout_events()]
        procedure_id = next((e.get("value") for e in tracker.latest_message.get("entities", [])
                             if e.get("entity") == "procedure"), None) or tracker.get_slot("procedure")
        chosen = journey(procedure_id)
        if chosen is None:
            if procedure_id in knowledge_service().kb.procedures:
                dispatcher.utter_message(text="Dạ, thủ tục này em chưa hỗ trợ "
                                              "khai trực tuyến. Thông tin chính:")
                await ActionAnswerQuestion().run(dispatcher, tracker, domain)
            else:
                dispatcher.utter_message(text="Dạ, anh/chị muốn khai hồ sơ trực tuyến cho thủ tục nào ạ?",
                                         buttons=_journey_buttons())
            return [SlotSet(JOURNEY, None)]
        if session.logged_in() and (problem := journey_problem(chosen, session.profile)):
            dispatcher.utter_message(text=problem)
            return [SlotSet(JOURNEY, None)]
        dispatcher.utter_message(text=f"Dạ, em sẽ giúp anh/chị khai hồ sơ {chosen.title} "
                                      f"trực tuyến (tờ khai {chosen.form}). Em hỏi lần lượt "
                                      "từng mục; anh/chị nhắn \"hủy\" bất cứ lúc nào để dừng.")
        return [*fresh_dossier_events(), SlotSet("procedure", chosen.procedure_id),
                SlotSet(JOURNEY, chosen.procedure_id)]


class ValidateJourneyForm(FormValidationAction):
    def name(self) -> str:
        return "validate_journey_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: dict[str, Any]) -> list[str]:
        session = CitizenSession.from_tracker(tracker)
        procedure = tracker.get_slot(JOURNEY)
        login = [] if session.logged_in() else list(LOGIN_SLOTS)
        if procedure == LOGIN_ONLY:
            return login
        chosen = journey(procedure)
        if chosen is None:
            return []
        return login + [f.slot for f in fields_to_ask(chosen, session.profile)] + [CONFIRM_SLOT]

    async def get_validation_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: dict[str, Any]) -> list[dict[str, Any]]:
        requested = tracker.get_slot("requested_slot")
        extracted = tracker.slots_to_validate()
        if not requested or requested not in extracted:
            return []
        updates = await self._answer(requested, dispatcher, tracker, domain)
        return [SlotSet(slot, value) for slot, value in updates.items()]

    async def _answer(self, requested: str, dispatcher: CollectingDispatcher, tracker: Tracker,
                      domain: dict[str, Any]) -> dict[str, Any]:
        """The slot updates for the citizen's latest message (always resetting `requested`
        unless it was filled, so the form asks again)."""
        intent, confidence = _intent(tracker)
        folded = _folded(tracker)
        chosen = journey(tracker.get_slot(JOURNEY))
        title = chosen.title if chosen else "đăng nhập"
        if (intent == "cancel" and confidence >= 0.6) or folded in CANCEL_WORDS:
            dispatcher.utter_message(text=f"Dạ, em đã dừng việc khai hồ sơ {title}; thông tin vừa "
                                          "khai đã được xóa. Anh/chị cần gì thêm cứ nhắn em ạ.")
            return {**_as_dict(fresh_dossier_events()), JOURNEY: None}
        if intent == "goodbye" and confidence >= 0.8:
            dispatcher.utter_message(text="Dạ, em đã dừng hồ sơ đang khai và đăng xuất để "
                                          "bảo vệ thông tin của anh/chị. Em chào anh/chị ạ!")
            return {**_as_dict(fresh_dossier_events()), **_as_dict(logout_events()), JOURNEY: None}
        session = CitizenSession.from_tracker(tracker)
        if requested in LOGIN_SLOTS:
            if (qr := qr_login(tracker)) is not None:
                return await _qr_logged_in(qr, dispatcher, chosen) or {requested: None}
            return await self._login_step(requested, dispatcher, tracker, domain, chosen)
        if session.expired():
            dispatcher.utter_message(text="Dạ, phiên đăng nhập đã hết hạn. Anh/chị đăng "
                                          "nhập lại giúp em; thông tin đã khai vẫn được giữ.")
            return {requested: None, **_as_dict(logout_events())}
        if chosen is None:
            return {requested: None, JOURNEY: None}
        context = FieldContext(knowledge_service().settings.today(), session.profile, dict(tracker.slots))
        correction = parse_correction(_text(tracker), chosen)
        if correction is not None:
            return self._correct(correction, requested, chosen, context, dispatcher)
        if requested == CONFIRM_SLOT:
            return await self._confirm(dispatcher, tracker, domain, intent, folded)
        spec = chosen.field(requested)
        if spec is None:
            return {requested: None}
        try:
            return {requested: read_field(spec, _text(tracker), context)}
        except FieldError as error:
            if await _digression(dispatcher, tracker, domain):
                return {requested: None}
            dispatcher.utter_message(text=f"Dạ, {lower_first(str(error))}")
            return {requested: None}

    async def _login_step(self, requested: str, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: dict[str, Any], chosen: Journey | None) -> dict[str, Any]:
        text, folded = _text(tracker), _folded(tracker)
        client = _portal()
        if requested == "login_id_number":
            try:
                id_number = parse_id_number_field(text)
            except FieldError as error:
                if not await _digression(dispatcher, tracker, domain):
                    dispatcher.utter_message(text=f"Dạ, {lower_first(str(error))}")
                return {requested: None}
            return {requested: await _send_code(client, id_number, dispatcher)}
        id_number = tracker.get_slot("login_id_number")
        if folded in RESEND_WORDS:
            await _send_code(client, id_number, dispatcher)
            return {requested: None}
        code = "".join(ch for ch in text if ch.isdigit())
        if len(code) != 6 or len(text) > 20:
            if not await _digression(dispatcher, tracker, domain):
                dispatcher.utter_message(text="Dạ, mã xác thực gồm 6 chữ số trong tin nhắn vừa gửi đến điện "
                                              "thoại của anh/chị. Chưa nhận được thì nhắn \"gửi lại mã\".")
            return {requested: None}
        try:
            login = await client.verify_otp(id_number, code)
            profile = await client.me(login.token)
        except PortalAuthError:
            dispatcher.utter_message(text="Dạ, mã xác thực chưa đúng hoặc đã hết hạn. Anh/chị "
                                          "nhập lại mã 6 số, hoặc nhắn \"gửi lại mã\".")
            return {requested: None}
        except PortalError as error:
            dispatcher.utter_message(text=_portal_trouble(error))
            return {requested: None}
        return logged_in(login, profile, dispatcher, chosen)

    def _correct(self, correction: Any, requested: str, chosen: Journey, context: FieldContext,
                 dispatcher: CollectingDispatcher) -> dict[str, Any]:
        if correction.slot is None:
            dispatcher.utter_message(text="Dạ, họ tên, ngày sinh, giới tính và số định danh lấy "
                                          "từ Cơ sở dữ liệu quốc gia về dân cư nên không sửa "
                                          "trong hồ sơ này được. Nếu thông tin đó sai, anh/chị "
                                          "đến Công an xã để điều chỉnh trong cơ sở dữ liệu trước.")
            return {requested: None}
        spec = chosen.field(correction.slot)
        assert spec is not None  # parse_correction only names the journey's own fields
        try:
            value = read_field(spec, correction.value_text, context)
        except FieldError as error:
            dispatcher.utter_message(text=f"Dạ, em chưa sửa được {spec.label.lower()}: "
                                          f"{lower_first(str(error))}")
            return {requested: None}
        dispatcher.utter_message(text=f"Dạ, em đã sửa {spec.label.lower()} thành: {show_value(spec, value)}.")
        updates = {requested: None, correction.slot: value}
        if correction.slot == requested:
            updates[requested] = value
        if correction.slot == "field_start_date" and context.values.get("field_end_date"):
            updates["field_end_date"] = None  # checked against the new start when asked again
        head = context.values.get("field_head_id_number")
        if correction.slot == "field_head_relation" and head:
            try:
                check_head_id_number(head, value, context.profile.get("id_number"))
            except FieldError:
                updates["field_head_id_number"] = None  # no longer fits the relation: asked again
        return updates

    async def _confirm(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                       intent: str | None, folded: str) -> dict[str, Any]:
        if intent == "affirm" or folded in AFFIRM_WORDS:
            key = tracker.get_slot(KEY) or new_idempotency_key()
            return {CONFIRM_SLOT: True, KEY: key}
        if intent == "deny" or folded in {"khong", "sai", "chua dung", "sai roi", "sua"}:
            dispatcher.utter_message(text="Dạ, anh/chị muốn sửa mục nào ạ? Nhắn ví dụ "
                                          "\"sửa thời hạn thành 6 tháng\" hoặc \"sửa địa chỉ thành "
                                          "số 5, tổ 2, phường Bãi Cháy, Quảng Ninh\".")
            return {CONFIRM_SLOT: None}
        if not await _digression(dispatcher, tracker, domain):
            dispatcher.utter_message(text="Dạ, anh/chị bấm \"Xác nhận và nộp\" nếu thông tin đúng, nhắn "
                                          "\"sửa <mục> thành <giá trị>\" để sửa, hoặc \"hủy\" để dừng.")
        return {CONFIRM_SLOT: None}


def logged_in(login: Login, profile: CitizenProfile, dispatcher: CollectingDispatcher,
              chosen: Journey | None) -> dict[str, Any]:
    """The slot updates and the welcome after a successful login (OTP or QR)."""
    logger.info("citizen %s logged in", mask_id_number(profile.id_number))
    updates = _as_dict(login_events(login, profile))
    summary = updates["citizen"]
    dispatcher.utter_message(text=f"Dạ, anh/chị đã đăng nhập: {summary['full_name']}, số định danh "
                                  f"{summary['id_masked']}. Phiên đăng nhập có hiệu lực đến "
                                  f"{login.expires_at.astimezone(VIETNAM):%H:%M}.")
    if chosen is not None and (problem := journey_problem(chosen, summary)):
        dispatcher.utter_message(text=problem)
        return {**updates, **_as_dict(fresh_dossier_events()), JOURNEY: None}
    return updates


def qr_login(tracker: Tracker) -> tuple[str, datetime] | None:
    """The token of a VNeID QR login approved at the kiosk: the kiosk app (services/kiosk)
    collects it from the portal and passes it in the message's metadata. Nothing is
    trusted from it: the token is checked with the portal before anyone is logged in."""
    if tracker.get_latest_input_channel() != "kiosk":
        return None
    login = (tracker.latest_message.get("metadata") or {}).get(QR_LOGIN_METADATA)
    if not isinstance(login, dict) or not isinstance(login.get("token"), str):
        return None
    try:
        expires_at = datetime.fromisoformat(str(login.get("expires_at")).replace("Z", "+00:00"))
    except ValueError:
        return None
    return login["token"], expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=timezone.utc)


async def _qr_logged_in(qr: tuple[str, datetime], dispatcher: CollectingDispatcher,
                        chosen: Journey | None) -> dict[str, Any] | None:
    token, expires_at = qr
    try:
        profile = await _portal().me(token)
    except PortalAuthError:
        dispatcher.utter_message(text="Dạ, đăng nhập bằng mã QR chưa thành công hoặc đã hết hạn. "
                                      "Anh/chị quét lại mã, hoặc nhắn số định danh để nhận mã xác thực.")
        return None
    except PortalError as error:
        dispatcher.utter_message(text=_portal_trouble(error))
        return None
    login = Login(token, expires_at, CitizenRef(profile.full_name, mask_id_number(profile.id_number)))
    return logged_in(login, profile, dispatcher, chosen)


async def _send_code(client: PortalClient, id_number: str, dispatcher: CollectingDispatcher) -> str | None:
    """Ask the portal to text a code; the ID number to keep, or None to ask again."""
    try:
        sent = await client.request_otp(id_number)
    except NotFound:
        dispatcher.utter_message(text="Dạ, số định danh này chưa có trong hệ thống dịch vụ công. "
                                      "Anh/chị kiểm tra lại 12 chữ số trên thẻ căn cước giúp em.")
        return None
    except PortalError as error:
        dispatcher.utter_message(text=_portal_trouble(error))
        return None
    dispatcher.utter_message(text=f"Dạ, em đã gửi mã xác thực 6 số đến số điện thoại {sent.masked_phone} "
                                  f"(hiệu lực đến {sent.expires_at.astimezone(VIETNAM):%H:%M}).")
    return id_number


def _portal_trouble(error: PortalError) -> str:
    if isinstance(error, PortalUnavailable):
        return ("Dạ, Cổng dịch vụ công đang gián đoạn nên em chưa đăng nhập được. Anh/chị "
                "thử lại sau ít phút (nhắn lại thông tin vừa rồi), hoặc nhắn \"hủy\" để dừng.")
    return f"Dạ, Cổng dịch vụ công từ chối yêu cầu: {error}"


async def _digression(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> bool:
    """Answer a knowledge-base question asked in the middle of the form; True if answered."""
    intent, confidence = _intent(tracker)
    if intent not in QUESTION_INTENTS or confidence < 0.6 or len(_text(tracker).split()) < 3:
        return False
    action = ActionAnswerGeneral() if intent == "ask_general" else ActionAnswerQuestion()
    await action.run(dispatcher, tracker, domain)
    dispatcher.utter_message(text="Dạ, mình tiếp tục hồ sơ đang khai nhé.")
    return True


def _as_dict(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


class AskField(Action, ABC):
    """Base of the `action_ask_<slot>` actions: the question for the requested slot in
    the journey at hand (the same slot reads differently in different procedures)."""

    @property
    @abstractmethod
    def slot(self) -> str:
        """The slot this action asks for (a class attribute in each subclass)."""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        if self.slot == "login_id_number":
            if tracker.get_latest_input_channel() == "kiosk":
                dispatcher.utter_message(text="Để nộp hồ sơ, anh/chị cần đăng nhập: quét mã QR trên "
                                              "màn hình bằng ứng dụng VNeID, hoặc nhắn số định danh cá "
                                              "nhân (12 số trên thẻ căn cước) để nhận mã xác thực qua "
                                              "điện thoại đã đăng ký.",
                                         json_message={"login_options": ["vneid_qr", "otp"]})
                return []
            dispatcher.utter_message(text="Để nộp hồ sơ, anh/chị cần đăng nhập. Anh/chị nhắn "
                                          "số định danh cá nhân (12 số trên thẻ căn cước); em "
                                          "sẽ gửi mã xác thực đến số điện thoại đã đăng ký.")
            return []
        if self.slot == "login_otp":
            dispatcher.utter_message(text="Anh/chị nhập mã xác thực 6 số vừa nhận được.")
            return []
        chosen = journey(tracker.get_slot(JOURNEY))
        spec = chosen.field(self.slot) if chosen else None
        if self.slot == CONFIRM_SLOT and chosen is not None:
            dispatcher.utter_message(text=summary_text(chosen, tracker), buttons=[
                {"title": "Xác nhận và nộp", "payload": "/affirm"},
                {"title": "Hủy hồ sơ", "payload": "/cancel"}])
            return []
        if spec is None:
            return []
        if spec.kind is Kind.APPOINTMENT:
            return await _ask_appointment(spec, dispatcher, tracker)
        text = spec.question + (f"\n(Ví dụ: {spec.example})" if spec.example else "")
        buttons = [{"title": c, "payload": c} for c in spec.choices]
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


async def _ask_appointment(spec: FieldSpec, dispatcher: CollectingDispatcher,
                           tracker: Tracker) -> list[dict[str, Any]]:
    profile = CitizenSession.from_tracker(tracker).profile
    commune = (profile.get("permanent") or {}).get("commune_code")
    try:
        slots = [s for s in await _portal().slots(int(commune)) if s.available > 0][:6]
    except (PortalError, TypeError, ValueError) as error:
        logger.warning("appointment slots unavailable: %s", error)
        dispatcher.utter_message(text="Dạ, em chưa lấy được lịch tiếp nhận của Công an xã. "
                                      "Anh/chị nhắn \"thử lại\" sau ít phút, hoặc \"hủy\" để dừng.")
        return [SlotSet(OFFERED, [])]
    if not slots:
        dispatcher.utter_message(text="Dạ, hai tuần tới Công an xã đã kín lịch. Anh/chị liên "
                                      "hệ trực tiếp Công an xã hoặc nhắn \"hủy\" để dừng.")
        return [SlotSet(OFFERED, [])]
    offered = [{"date": s.date.isoformat(), "period": s.period, "label": s.label} for s in slots]
    buttons = [{"title": f"{s.label} (còn {s.available} chỗ)",
                "payload": f"{s.date:%d/%m/%Y} {'sáng' if s.period == 'morning' else 'chiều'}"}
               for s in slots]
    where = (profile.get("permanent") or {}).get("commune") or "Công an xã nơi thường trú"
    dispatcher.utter_message(text=f"{spec.question}\nNơi tiếp nhận: Công an {where}.", buttons=buttons)
    return [SlotSet(OFFERED, offered)]


def summary_text(chosen: Journey, tracker: Tracker) -> str:
    """The confirmation summary: who, what was asked, what the registry filled, the fee."""
    profile = CitizenSession.from_tracker(tracker).profile
    service = knowledge_service()
    born = datetime.fromisoformat(profile["date_of_birth"]).date() if profile.get("date_of_birth") else None
    lines = [f"Dạ, anh/chị kiểm tra lại hồ sơ {chosen.title} (tờ khai {chosen.form}):",
             f"• Người đề nghị: {profile.get('full_name', '')}"
             + (f", sinh {format_date(born)}" if born else "")
             + f", số định danh {profile.get('id_masked', '')}"]
    if profile.get("permanent"):
        lines.append(f"• Nơi thường trú: {profile['permanent']['text']}")
    if chosen.needs_temporary_address and profile.get("temporary"):
        lines.append(f"• Nơi tạm trú hiện tại: {profile['temporary']['text']}")
    for spec in chosen.fields:
        value = tracker.get_slot(spec.slot)
        if value is None and spec.only_if_missing and profile.get(spec.only_if_missing):
            value = profile[spec.only_if_missing]
        lines.append(f"• {spec.label}: {show_value(spec, value)}")
    fees = fee_lines(service.kb, chosen.procedure_id, service.settings.today())
    if fees:
        lines.append("• Lệ phí: " + "; ".join(fees))
    lines.append("Đúng thì bấm \"Xác nhận và nộp\"; cần sửa thì nhắn ví dụ \"sửa "
                 f"{chosen.fields[0].label.lower()} thành …\".")
    return "\n".join(lines)


def _ask_action(slot: str) -> type[AskField]:
    return type(f"AskFor_{slot}", (AskField,), {"slot": slot, "__module__": __name__})


# one `action_ask_<slot>` per slot the form can request
ASK_ACTIONS = [_ask_action(s) for s in (*LOGIN_SLOTS, *FIELD_SLOTS, CONFIRM_SLOT)]


class ActionFinishJourney(Action):
    """After the form: submit a confirmed dossier (or keep it in the outbox), welcome a
    login, or do nothing after a cancel."""

    def name(self) -> str:
        return "action_finish_journey"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        procedure = tracker.get_slot(JOURNEY)
        if procedure == LOGIN_ONLY:
            dispatcher.utter_message(text="Anh/chị có thể hỏi \"hồ sơ của tôi\" để xem các hồ sơ đã "
                                          "nộp, hoặc chọn thủ tục muốn nộp:", buttons=_journey_buttons())
            return [SlotSet(JOURNEY, None)]
        chosen = journey(procedure)
        if chosen is None or tracker.get_slot(CONFIRM_SLOT) is not True:
            return [SlotSet(JOURNEY, None)]
        session = CitizenSession.from_tracker(tracker)
        outcome = await submit_and_report(chosen, tracker, session, _portal(), dispatcher,
                                          datetime.now(timezone.utc))
        if outcome == "login_again":
            return [*logout_events(), SlotSet(CONFIRM_SLOT, None), FollowupAction("journey_form")]
        if outcome == "fix":
            return [SlotSet(CONFIRM_SLOT, None), FollowupAction("journey_form")]
        return [*fresh_dossier_events(), SlotSet(JOURNEY, None)] + outcome_events(outcome)


def outcome_events(outcome: str) -> list[dict[str, Any]]:
    """`submitted:<code>` or `queued:<draft>` -> remember it for "hồ sơ của tôi"."""
    kind, _, reference = outcome.partition(":")
    return [SlotSet("last_dossier_reference", reference)] if reference else []


class ActionEndSession(Action):
    """"Tạm biệt"/"kết thúc": say goodbye and forget the conversation (login, answers), so
    the next person at the kiosk starts clean."""

    def name(self) -> str:
        return "action_end_session"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_goodbye")
        return [Restarted()]
