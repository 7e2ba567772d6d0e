"""Short, sourced Vietnamese answers built from the knowledge base for a given day."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from assistant.knowledge.model import (
    ASPECT_TITLES,
    FaqEntry,
    Fee,
    KnowledgeBase,
    Procedure,
    Section,
)

UNVERIFIED_NOTE = "⚠ Mục có dấu ⚠ chưa được xác nhận chính thức, anh/chị vui lòng hỏi lại Công an cấp xã."
# Next steps offered after an answer, per aspect just answered.
NEXT_ASPECTS: dict[str, tuple[str, ...]] = {
    "documents": ("fee", "time", "where"),
    "fee": ("documents", "time", "online"),
    "time": ("documents", "fee", "where"),
    "where": ("documents", "online", "time"),
    "who": ("documents", "fee", "where"),
    "forms": ("documents", "online", "fee"),
    "online": ("documents", "fee", "time"),
    "legal_basis": ("documents", "fee", "pitfalls"),
    "pitfalls": ("documents", "fee", "time"),
    "overview": ("documents", "fee", "time"),
}
ASPECT_INTENTS: dict[str, str] = {
    "documents": "ask_documents",
    "fee": "ask_fee",
    "time": "ask_time",
    "where": "ask_where",
    "who": "ask_who",
    "forms": "ask_forms",
    "online": "ask_online",
}
INTENT_ASPECTS: dict[str, str] = {intent: aspect for aspect, intent in ASPECT_INTENTS.items()}


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass
class Answer:
    text: str
    buttons: list[Button] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def format_money(amount: int) -> str:
    return "miễn phí" if amount == 0 else f"{amount:,}".replace(",", ".") + " đồng"


def format_day(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def fees_in_force(fees: tuple[Fee, ...], day: date) -> list[Fee]:
    """Fees that apply on `day`: for each label, a reduction in force replaces the base."""
    current = [f for f in fees if f.validity.in_force(day)]
    reduced = {f.label for f in current if f.kind == "reduction"}
    return [f for f in current if f.kind == "reduction" or f.label not in reduced]


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"• {line}" for line in lines)


def _item_lines(items) -> list[str]:
    return [item.text + ("" if item.validity.verified else " ⚠") for item in items]


def _section_body(section: Section, day: date) -> tuple[str, bool]:
    """The body of a section as of `day`, and whether it holds unverified content."""
    parts: list[str] = []
    unverified = not section.validity.verified
    if section.aspect == "fee":
        lines = []
        for fee in fees_in_force(section.fees, day):
            line = f"{fee.label}: {format_money(fee.amount)}"
            if fee.kind == "reduction" and fee.validity.valid_to:
                line += f" (mức giảm áp dụng đến hết {format_day(fee.validity.valid_to)})"
            if fee.note:
                line += f". {fee.note}"
            if not fee.validity.verified:
                unverified = True
                line += " ⚠"
            lines.append(line)
        if lines:
            parts.append(_bullets(lines))
        if section.text:
            parts.append(section.text)
    else:
        if section.text:
            parts.append(section.text + ("" if section.validity.verified else " ⚠"))
        for case in section.cases:
            if not case.validity.in_force(day):
                continue
            items = [i for i in case.items if i.validity.in_force(day)]
            unverified |= not case.validity.verified or any(not i.validity.verified for i in items)
            title = case.title + ("" if case.validity.verified else " ⚠")
            parts.append(f"{title}:\n" + _bullets(_item_lines(items)))
        items = [i for i in section.items if i.validity.in_force(day)]
        if items:
            unverified |= any(not i.validity.verified for i in items)
            parts.append(_bullets(_item_lines(items)))
    return "\n".join(parts), unverified


def _footer(procedure: Procedure, section: Section) -> str:
    basis = section.basis or "; ".join(i.text for i in procedure.sections["legal_basis"].items[:2])
    return f"Căn cứ: {basis}. Cập nhật: {format_day(procedure.updated)}."


def question_payload(procedure_id: str, aspect: str | None) -> str:
    """A button payload asking about `aspect` of a procedure (its overview for other aspects)."""
    intent = ASPECT_INTENTS.get(aspect or "", "ask_overview")
    return f'/{intent}{{"procedure": "{procedure_id}"}}'


def _aspect_buttons(procedure: Procedure, after: str) -> list[Button]:
    return [
        Button(ASPECT_TITLES[aspect], question_payload(procedure.id, aspect))
        for aspect in NEXT_ASPECTS.get(after, ())
        if aspect in ASPECT_INTENTS
    ]


# A documents answer longer than this (characters) first asks which case applies:
# about what a kiosk screen or a phone shows without scrolling far.
MAX_ANSWER_CHARS = 1200


def answer_aspect(kb: KnowledgeBase, procedure_id: str, aspect: str, day: date,
                  case: int | None = None) -> Answer:
    procedure = kb.procedures[procedure_id]
    section = procedure.sections[aspect]
    cases = [c for c in section.cases if c.validity.in_force(day)]
    if aspect == "documents" and section.validity.in_force(day):
        if case is not None and 0 <= case < len(cases):
            section = replace(section, text=None, cases=(cases[case],))
        elif len(cases) > 1 and len(_section_body(section, day)[0]) > MAX_ANSWER_CHARS:
            return _ask_case(procedure, section, cases, _footer(procedure, section))
    if not section.validity.in_force(day):
        return Answer(
            f"Dạ, thông tin về {ASPECT_TITLES[aspect].lower()} của thủ tục {procedure.name} "
            "đang được cập nhật. Anh/chị vui lòng hỏi Công an cấp xã ạ.",
            _aspect_buttons(procedure, aspect),
        )
    body, unverified = _section_body(section, day)
    text = f"Dạ, {ASPECT_TITLES[aspect].lower()} – {procedure.name}:\n{body}\n{_footer(procedure, section)}"
    if unverified:
        text += f"\n{UNVERIFIED_NOTE}"
    return Answer(text, _aspect_buttons(procedure, aspect), list(section.sources))


def _ask_case(procedure: Procedure, section: Section, cases: list, footer: str) -> Answer:
    intro = f"{section.text}\n" if section.text else ""
    text = (f"Dạ, hồ sơ {procedure.name} tùy trường hợp.\n{intro}"
            f"Anh/chị thuộc trường hợp nào ạ?\n{footer}")
    buttons = [
        Button(c.title[:80], f'/ask_documents{{"procedure": "{procedure.id}", "doc_case": "{i}"}}')
        for i, c in enumerate(cases)
    ]
    return Answer(text, buttons, list(section.sources))


def answer_overview(kb: KnowledgeBase, procedure_id: str, day: date) -> Answer:
    procedure = kb.procedures[procedure_id]
    codes = f" (mã {', '.join(procedure.codes)})" if procedure.codes else ""
    fees = fees_in_force(procedure.sections["fee"].fees, day)
    fee_body = _bullets([f"{f.label}: {format_money(f.amount)}" + ("" if f.validity.verified else " ⚠")
                         for f in fees[:4]])
    time_text = procedure.sections["time"].text or ""
    text = (
        f"Dạ, {procedure.name}{codes}: {procedure.summary}\n"
        f"Thời gian: {time_text}\nLệ phí:\n{fee_body}\n"
        f"Cập nhật: {format_day(procedure.updated)}. Anh/chị cần biết thêm về phần nào ạ?"
    )
    buttons = [
        Button(ASPECT_TITLES[a], question_payload(procedure.id, a))
        for a in ("documents", "where", "online", "who")
    ]
    return Answer(text, buttons, list(procedure.sections["fee"].sources))


def answer_faq(kb: KnowledgeBase, entry: FaqEntry) -> Answer:
    text = entry.answer
    if entry.basis:
        text += f"\nCăn cứ: {entry.basis}. Cập nhật: {format_day(entry.updated)}."
    if not entry.validity.verified:
        text += "\n⚠ Thông tin này chưa được xác nhận chính thức, anh/chị vui lòng hỏi lại Công an cấp xã."
    buttons = []
    if entry.procedure and entry.procedure in kb.procedures:
        buttons = _aspect_buttons(kb.procedures[entry.procedure], "overview")
    return Answer(text, buttons, list(entry.sources))
