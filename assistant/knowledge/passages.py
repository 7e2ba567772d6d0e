"""Search passages: one per FAQ entry and one per procedure section (one aspect each).

Both the lexical (BM25) and the semantic (embedding) index rank these same passages, so
their results can be fused and compared in the benchmark.
"""
from __future__ import annotations

from dataclasses import dataclass

from assistant.knowledge.model import ASPECT_TITLES, KnowledgeBase, Validity


@dataclass(frozen=True)
class Passage:
    key: str                  # "faq:<id>" or "procedure:<id>/<aspect>": stable, used in labels
    faq_id: str | None
    procedure_id: str | None
    aspect: str | None
    title: str
    text: str                 # what the passage says (FAQ answer, section content)
    source: str               # legal basis shown with it
    names: tuple[str, ...]    # how citizens ask for it: FAQ question variants, procedure names
    validity: Validity = Validity()

    @property
    def search_text(self) -> str:
        title = () if self.title in self.names else (self.title,)
        return " ".join((*self.names, *title, self.text))


def build_passages(kb: KnowledgeBase) -> list[Passage]:
    """All passages with their validity; which are in force is decided per query."""
    passages = []
    for entry in kb.faq.values():
        passages.append(Passage(
            key=f"faq:{entry.id}", faq_id=entry.id, procedure_id=entry.procedure, aspect=None,
            title=entry.questions[0], text=entry.answer, source=entry.basis or "",
            names=tuple(entry.questions), validity=entry.validity,
        ))
    for procedure in kb.procedures.values():
        for aspect, section in procedure.sections.items():
            if aspect not in ASPECT_TITLES:
                continue
            body = " ".join(filter(None, [section.text, *(i.text for i in section.items),
                                          *(c.title for c in section.cases)]))
            passages.append(Passage(
                key=f"procedure:{procedure.id}/{aspect}", faq_id=None, procedure_id=procedure.id,
                aspect=aspect, title=f"{procedure.name}: {ASPECT_TITLES[aspect]}", text=body,
                source=section.basis or "", names=(procedure.name, *procedure.aliases),
                validity=section.validity,
            ))
    return passages
