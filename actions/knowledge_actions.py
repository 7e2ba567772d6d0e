"""Actions that answer from the knowledge base.

The published knowledge base (the YAML files with the officers' published versions over them)
and its lexical index are loaded into an immutable `KnowledgeService`; a poller thread looks at
the content store's generation every `KB_WATCH_INTERVAL_S` and, when an officer published or
restored something, builds a new service and swaps it in (an action that already holds the old
one finishes with it). Nothing about a conversation is kept here (it lives in the tracker).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, NamedTuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from assistant.clients import knowledge_api
from assistant.clients.knowledge_api import KnowledgeApiError
from assistant.dossiers.journeys import JOURNEYS
from assistant.knowledge.answers import (
    INTENT_ASPECTS,
    Answer,
    answer_aspect,
    answer_faq,
    answer_overview,
    question_payload,
)
from assistant.knowledge.lexical import LexicalIndex
from assistant.knowledge.model import KnowledgeBase
from assistant.knowledge.passages import build_passages
from assistant.knowledge.store import PublishedContent
from assistant.settings import Settings, load_settings
from assistant.stats import StatsLog
from assistant.text.redact import warm_up as warm_up_redaction
from assistant.unanswered import UnansweredLog

logger = logging.getLogger(__name__)

# When the semantic search service is down: a BM25 hit scoring above this answers
# directly; between the two, we offer choices.
DIRECT_SCORE = 12.0
SUGGEST_SCORE = 5.0


@dataclass(frozen=True)
class KnowledgeService:
    settings: Settings
    kb: KnowledgeBase
    index: LexicalIndex
    unanswered: UnansweredLog
    stats: StatsLog | None = None  # what was asked and how it went, no text (the dashboard)
    generation: int = 0  # the content store's generation `kb` was loaded at

    def record_unanswered(self, tracker: Tracker, reason: str) -> None:
        """The question, redacted, for the officers' inbox; a failure is only logged."""
        intent = tracker.latest_message.get("intent", {})
        try:
            self.unanswered.record(tracker.latest_message.get("text") or "", _channel(tracker),
                                   intent.get("name"), intent.get("confidence"), reason)
        except Exception:
            logger.exception("unanswered question not recorded")

    def record_outcome(self, tracker: Tracker, outcome: str, procedure_id: str | None = None) -> None:
        if self.stats is not None:
            self.stats.safe_record(_channel(tracker), tracker.latest_message.get("intent", {}).get("name"),
                                   procedure_id, outcome)


class ServiceHolder:
    """The process's current KnowledgeService, loaded at the first call; then a daemon thread
    polls the content store's generation (one SQLite read) and replaces the service whole when
    it changed. Loading a new one (about 1 s: overlay, BM25) happens in that thread, never in
    an action, so no conversation waits for it; a failed reload keeps the old service."""

    def __init__(self) -> None:
        self.service: KnowledgeService | None = None
        self._lock = threading.Lock()
        self._content: PublishedContent | None = None
        self._poller: threading.Thread | None = None

    def get(self) -> KnowledgeService:
        service = self.service
        if service is not None:
            return service
        with self._lock:
            if self.service is None:
                settings = load_settings()
                self._content = PublishedContent(settings.knowledge_base_dir, settings.content_db)
                self.service = self._load(settings)
                warm_up_redaction()  # the name tagger loads in the background, before the first question
                self._poller = threading.Thread(target=self._poll, args=(settings.kb_watch_interval_s,),
                                                daemon=True, name="kb-content-poller")
                self._poller.start()
            return self.service

    def _load(self, settings: Settings) -> KnowledgeService:
        assert self._content is not None
        generation, kb = self._content.load()
        service = KnowledgeService(settings, kb, LexicalIndex(build_passages(kb)),
                                   UnansweredLog(settings.unanswered_db), StatsLog(settings.stats_db),
                                   generation)
        logger.info("knowledge base (content generation %d): %d procedures, %d FAQ entries",
                    generation, len(kb.procedures), len(kb.faq))
        return service

    def refresh(self) -> bool:
        """Reload if the published content changed; True when a new service was swapped in."""
        current = self.service
        if current is None or self._content is None or self._content.generation() == current.generation:
            return False
        self.service = self._load(current.settings)
        return True

    def _poll(self, interval_s: float) -> None:
        stop = threading.Event()  # never set: the thread ends with the process
        while not stop.wait(interval_s):
            try:
                self.refresh()
            except Exception:  # a locked or damaged store: keep answering from what we have
                logger.exception("published content not reloaded; answering from the previous version")


_services = ServiceHolder()


def knowledge_service() -> KnowledgeService:
    """The current service (the published content as of the last poll, at most about
    `KB_WATCH_INTERVAL_S` behind a publish plus the second it takes to load)."""
    return _services.get()


def send(dispatcher: CollectingDispatcher, answer: Answer) -> None:
    dispatcher.utter_message(
        text=answer.text,
        buttons=[{"title": b.title, "payload": b.payload} for b in answer.buttons],
    )


def _channel(tracker: Tracker) -> str:
    return (tracker.get_latest_input_channel() or "rest").split("_")[0]


def _procedure_in_message(tracker: Tracker) -> str | None:
    for entity in tracker.latest_message.get("entities", []):
        if entity.get("entity") == "procedure":
            return entity.get("value")
    return None


def _document_case(tracker: Tracker) -> int | None:
    """The documents case chosen from the buttons (entity `doc_case`), if any."""
    for entity in tracker.latest_message.get("entities", []):
        if entity.get("entity") == "doc_case" and str(entity.get("value", "")).isdigit():
            return int(entity["value"])
    return None


async def answer_by_search(service: KnowledgeService, tracker: Tracker,
                           dispatcher: CollectingDispatcher, reason: str) -> list[dict[str, Any]]:
    """Answer a free question from the best passage, offer choices, or say we do not know.

    The semantic search service decides with its calibrated thresholds; if it is down or
    slow, the local BM25 index answers instead, so the citizen still gets help."""
    text = tracker.latest_message.get("text") or ""
    today = service.settings.today()
    try:
        remote = await knowledge_api.decide(service.settings.api_url, text)
        kind = remote.kind
        choices = [Choice(h.procedure_id, h.faq_id, h.aspect, h.title) for h in remote.hits]
    except KnowledgeApiError as error:
        logger.warning("semantic search unavailable (%s); answering from the BM25 index", error)
        kind, choices = _lexical_decision(service, text, today)
    if kind == "answer" and choices:
        return _answer_passage(service, choices[0], dispatcher, today, tracker, reason)
    if kind == "choices" and choices:
        dispatcher.utter_message(
            text="Dạ, em chưa chắc anh/chị hỏi về nội dung nào. Anh/chị chọn giúp em một mục ạ:",
            buttons=[_choice_button(choice) for choice in choices],
        )
        # low confidence: the officers see it in the inbox too
        service.record_unanswered(tracker, f"choices:{reason}")
        service.record_outcome(tracker, "choices", choices[0].procedure_id)
        return []
    service.record_unanswered(tracker, reason)
    service.record_outcome(tracker, "unknown")
    dispatcher.utter_message(response="utter_cannot_answer")
    return []


class Choice(NamedTuple):
    """A passage to answer from or offer: a FAQ entry or one aspect of a procedure."""

    procedure_id: str | None
    faq_id: str | None
    aspect: str | None
    title: str


def _lexical_decision(service: KnowledgeService, text: str, today) -> tuple[str, list[Choice]]:
    hits = service.index.search(text, today, k=3)
    choices = [Choice(h.passage.procedure_id, h.passage.faq_id, h.passage.aspect, h.passage.title)
               for h in hits]
    if hits and hits[0].score >= DIRECT_SCORE and (len(hits) == 1 or hits[0].score >= 1.3 * hits[1].score):
        return "answer", choices[:1]
    if hits and hits[0].score >= SUGGEST_SCORE:
        return "choices", choices
    return "unknown", []


def _answer_passage(service: KnowledgeService, choice: Choice, dispatcher: CollectingDispatcher,
                    today, tracker: Tracker, reason: str) -> list[dict[str, Any]]:
    if choice.faq_id and choice.faq_id in service.kb.faq:
        send(dispatcher, answer_faq(service.kb, service.kb.faq[choice.faq_id]))
    elif choice.procedure_id in service.kb.procedures and choice.aspect:
        send(dispatcher, answer_aspect(service.kb, choice.procedure_id, choice.aspect, today))
    else:  # the search named a passage this process does not know (content out of step)
        service.record_unanswered(tracker, f"unknown_passage:{reason}")
        service.record_outcome(tracker, "unknown")
        dispatcher.utter_message(response="utter_cannot_answer")
        return []
    service.record_outcome(tracker, "answered", choice.procedure_id)
    return [SlotSet("procedure", choice.procedure_id)] if choice.procedure_id else []


def _choice_button(choice: Choice) -> dict[str, str]:
    if choice.faq_id:
        return {"title": choice.title[:80], "payload": f'/ask_general{{"faq_id": "{choice.faq_id}"}}'}
    return {"title": choice.title[:80], "payload": question_payload(choice.procedure_id, choice.aspect)}


class ActionAnswerQuestion(Action):
    """ask_documents/ask_fee/... and ask_overview: answer the aspect for the procedure in
    the message, or the one the conversation is about ("còn lệ phí thì sao?")."""

    def name(self) -> str:
        return "action_answer_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        service = knowledge_service()
        intent = tracker.latest_message.get("intent", {}).get("name")
        procedure_id = _procedure_in_message(tracker) or tracker.get_slot("procedure")
        if procedure_id not in service.kb.procedures:
            return await answer_by_search(service, tracker, dispatcher, "no_procedure")
        today = service.settings.today()
        aspect = INTENT_ASPECTS.get(intent)
        answer = (answer_aspect(service.kb, procedure_id, aspect, today, _document_case(tracker))
                  if aspect else answer_overview(service.kb, procedure_id, today))
        send(dispatcher, answer)
        service.record_outcome(tracker, "answered", procedure_id)
        if intent in ("ask_online", "ask_overview") and procedure_id in JOURNEYS \
                and tracker.active_loop.get("name") is None:
            start = f'/start_procedure{{"procedure": "{procedure_id}"}}'
            dispatcher.utter_message(text="Anh/chị có thể khai và nộp hồ sơ này trực tuyến ngay tại đây.",
                                     buttons=[{"title": "Khai hồ sơ ngay", "payload": start}])
        return [SlotSet("procedure", procedure_id)]


class ActionAnswerGeneral(Action):
    """A general question (ask_general): the FAQ entry chosen from suggestions (a button
    carrying `faq_id`), or else the best match in the knowledge base."""

    def name(self) -> str:
        return "action_answer_general"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        service = knowledge_service()
        faq_id = next((e.get("value") for e in tracker.latest_message.get("entities", [])
                       if e.get("entity") == "faq_id"), None)
        entry = service.kb.faq.get(faq_id or "")
        if entry is not None and entry.validity.in_force(service.settings.today()):
            send(dispatcher, answer_faq(service.kb, entry))
            service.record_outcome(tracker, "answered", entry.procedure)
            return [SlotSet("procedure", entry.procedure)] if entry.procedure else []
        return await answer_by_search(service, tracker, dispatcher, "general")


class ActionClarify(Action):
    """Low NLU confidence: try the knowledge base, else ask with suggestions."""

    def name(self) -> str:
        return "action_clarify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        return await answer_by_search(knowledge_service(), tracker, dispatcher, "low_confidence")


class ActionOutOfScope(Action):
    def name(self) -> str:
        return "action_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        service = knowledge_service()
        service.record_unanswered(tracker, "out_of_scope")
        service.record_outcome(tracker, "unknown")
        dispatcher.utter_message(response="utter_out_of_scope")
        return []


class ActionDefaultFallback(Action):
    """Rasa's core fallback (RulePolicy's `core_fallback_action_name`), overridden to record
    the message before saying we could not follow; the message is then forgotten
    (UserUtteranceReverted), as the built-in fallback does. Rasa runs this class instead of
    its own only when `action_default_fallback` is listed under `actions:` in domain.yml."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        service = knowledge_service()
        service.record_unanswered(tracker, "core_fallback")
        service.record_outcome(tracker, "fallback")
        dispatcher.utter_message(response="utter_cannot_answer")
        return [UserUtteranceReverted()]
