"""The "hết hiệu lực" list: what in the published content has a valid_to before today
(Settings.today()): FAQ entries, procedure sections, and inside sections the fee items,
cases and list items. The assistant no longer serves them (Validity.in_force); an officer
reviews each: a new date, new content, or retire it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from assistant.knowledge.model import ASPECT_TITLES, KnowledgeBase, Validity


@dataclass(frozen=True)
class Expired:
    key: str          # the entry to edit: faq:<id> or procedure:<id>/<aspect>
    kind: str         # faq | section | fee | case | item
    title: str        # the entry
    part: str         # what expired inside it ("" for the entry itself)
    valid_to: date

    def as_json(self) -> dict[str, str]:
        return {"key": self.key, "kind": self.kind, "title": self.title, "part": self.part,
                "valid_to": self.valid_to.isoformat()}


KIND_NAMES = {"faq": "Hỏi đáp", "section": "Phần thủ tục", "fee": "Khoản lệ phí", "case": "Trường hợp",
              "item": "Mục trong danh sách"}


def _ended(validity: Validity, today: date) -> bool:
    return validity.valid_to is not None and validity.valid_to < today


def expired_entries(kb: KnowledgeBase, today: date) -> list[Expired]:
    found: list[Expired] = []
    for entry in kb.faq.values():
        if _ended(entry.validity, today):
            title = entry.questions[0] if entry.questions else entry.id
            found.append(Expired(f"faq:{entry.id}", "faq", title, "", entry.validity.valid_to))
    for procedure in kb.procedures.values():
        for aspect, section in procedure.sections.items():
            key = f"procedure:{procedure.id}/{aspect}"
            title = f"{procedure.name}: {ASPECT_TITLES.get(aspect, aspect)}"
            if _ended(section.validity, today):
                found.append(Expired(key, "section", title, "", section.validity.valid_to))
            for fee in section.fees:
                if _ended(fee.validity, today):
                    amount = f"{fee.amount:,}".replace(",", ".")
                    found.append(Expired(key, "fee", title, f"{fee.label}: {amount} đồng",
                                         fee.validity.valid_to))
            for item in section.items:
                if _ended(item.validity, today):
                    found.append(Expired(key, "item", title, item.text[:120], item.validity.valid_to))
            for case in section.cases:
                if _ended(case.validity, today):
                    found.append(Expired(key, "case", title, case.title, case.validity.valid_to))
                for item in case.items:
                    if _ended(item.validity, today):
                        found.append(Expired(key, "item", title, f"{case.title} · {item.text[:100]}",
                                             item.validity.valid_to))
    return sorted(found, key=lambda e: (e.valid_to, e.key, e.part))
