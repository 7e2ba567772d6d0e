"""Search passages: one per FAQ entry and one per procedure section (one aspect each).

Both the lexical (BM25) and the semantic (embedding) index rank these same passages, so
their results can be fused and compared in the benchmark.
"""
from __future__ import annotations

from dataclasses import dataclass

from assistant.knowledge.model import ASPECT_TITLES, KnowledgeBase, Validity
from assistant.text.normalize import normalize_words
from assistant.text.query import expand_abbreviations


def expanded_text(text: str) -> str:
    """A question as the search prepares a query: abbreviations expanded, normalised
    ("csdl dân cư chưa có tên mình" -> "cơ sở dữ liệu dân cư chưa có tên mình")."""
    return " ".join(w.text for w in expand_abbreviations(normalize_words(text)))


# How citizens ask for one aspect of a procedure ({name} = the procedure's name or an alias).
# A procedure section is found by these questions, not only by its own wording: its body
# talks about the procedure, while the question names the aspect.
ASPECT_QUESTIONS: dict[str, tuple[str, ...]] = {
    "documents": ("{name} cần giấy tờ gì", "hồ sơ {name} gồm những gì"),
    "fee": ("{name} lệ phí bao nhiêu", "{name} mất bao nhiêu tiền"),
    "time": ("{name} mất bao lâu", "{name} bao nhiêu ngày thì có kết quả"),
    "where": ("{name} nộp ở đâu", "{name} làm ở cơ quan nào"),
    "who": ("ai phải {name}", "trường hợp nào được {name}"),
    "forms": ("mẫu tờ khai {name}", "{name} dùng biểu mẫu nào"),
    "online": ("{name} online được không", "{name} nộp trên VNeID, cổng dịch vụ công"),
    "legal_basis": ("{name} căn cứ luật nào",),
    "pitfalls": ("{name} cần lưu ý gì", "{name} hay bị sai ở đâu"),
}
MAX_NAMES_PER_PROCEDURE = 4

# More ways of asking for an aspect, over every name of the procedure: rows of the semantic
# index only (a question is matched against its nearest row). The fine-tuning and BM25 keep
# to ASPECT_QUESTIONS over the first names, so that these rows neither lengthen training nor
# pad the lexical documents with repeated names.
EXTRA_ASPECT_QUESTIONS: dict[str, tuple[str, ...]] = {
    # the procedure first ...
    "documents": ("{name} cần mang theo những gì", "muốn {name} phải chuẩn bị giấy tờ gì"),
    "fee": ("{name} có mất phí không", "{name} hết bao nhiêu tiền"),
    "time": ("{name} mấy ngày thì xong", "bao lâu thì {name} xong"),
    "where": ("{name} ở đâu", "muốn {name} thì đến đâu"),
    "who": ("khi nào phải {name}", "điều kiện để {name} là gì"),
    "forms": ("{name} điền tờ khai gì",),
    "online": ("{name} làm trên mạng thế nào", "{name} qua VNeID được không"),
    "legal_basis": ("văn bản nào quy định {name}",),
    "pitfalls": ("{name} bị trả hồ sơ vì sao",),
}
# ... and the aspect first ("lệ phí đăng ký tạm trú", "thủ tục hồ sơ tách hộ")
ASPECT_FIRST_QUESTIONS: dict[str, tuple[str, ...]] = {
    "documents": ("giấy tờ {name} gồm những gì",),
    "fee": ("lệ phí {name} là bao nhiêu",),
    "time": ("thời gian {name} là bao lâu",),
    "where": ("nộp hồ sơ {name} ở đâu",),
    "forms": ("tờ khai {name} là mẫu nào",),
    "online": ("nộp hồ sơ {name} trực tuyến",),
}


@dataclass(frozen=True)
class Passage:
    key: str                  # "faq:<id>" or "procedure:<id>/<aspect>": stable, used in labels
    faq_id: str | None
    procedure_id: str | None
    aspect: str | None
    title: str
    text: str                 # what the passage says (FAQ answer, section content)
    source: str               # legal basis shown with it
    names: tuple[str, ...]    # how citizens name it: FAQ question variants, procedure names
    questions: tuple[str, ...] = ()  # how citizens ask for it (semantic index rows, training, BM25)
    extra_questions: tuple[str, ...] = ()  # more semantic index rows only
    validity: Validity = Validity()

    @property
    def search_text(self) -> str:
        return " ".join(dict.fromkeys((*self.names, *self.questions, self.title, self.text)))


def build_passages(kb: KnowledgeBase) -> list[Passage]:
    """All passages with their validity; which are in force is decided per query."""
    passages = []
    for entry in kb.faq.values():
        passages.append(Passage(
            key=f"faq:{entry.id}", faq_id=entry.id, procedure_id=entry.procedure, aspect=None,
            title=entry.questions[0], text=entry.answer, source=entry.basis or "",
            names=tuple(entry.questions), questions=tuple(entry.questions), validity=entry.validity,
            extra_questions=tuple(dict.fromkeys(
                e for e in (expanded_text(q) for q in entry.questions) if e not in entry.questions)),
        ))
    for procedure in kb.procedures.values():
        for aspect, section in procedure.sections.items():
            if aspect not in ASPECT_TITLES:
                continue
            body = " ".join(filter(None, [section.text, *(i.text for i in section.items),
                                          *(c.title for c in section.cases)]))
            names = tuple(dict.fromkeys((procedure.name, *procedure.aliases)))
            passages.append(Passage(
                key=f"procedure:{procedure.id}/{aspect}", faq_id=None, procedure_id=procedure.id,
                aspect=aspect, title=f"{procedure.name}: {ASPECT_TITLES[aspect]}", text=body,
                source=section.basis or "", names=names,
                questions=tuple(template.format(name=name)
                                for name in names[:MAX_NAMES_PER_PROCEDURE]
                                for template in ASPECT_QUESTIONS.get(aspect, ())),
                extra_questions=tuple(template.format(name=name) for name in names
                                      for template in (*EXTRA_ASPECT_QUESTIONS.get(aspect, ()),
                                                       *ASPECT_FIRST_QUESTIONS.get(aspect, ()))),
                validity=section.validity,
            ))
    return passages
