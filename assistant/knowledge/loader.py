"""Load and validate the knowledge base; every problem is reported as file:line."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterator

import yaml

from assistant.knowledge.model import (
    ASPECTS,
    GROUPS,
    PROCEDURE_IDS,
    Case,
    FaqEntry,
    Fee,
    Item,
    KnowledgeBase,
    Procedure,
    Section,
    Source,
    Validity,
)
from assistant.knowledge.yaml_lines import LineList, LineMap, load_yaml_with_lines

SECTIONS_WITHOUT_BASIS = {"legal_basis", "pitfalls"}
SOURCE_KINDS = {"OFF", "NEWS", "3P"}


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class KnowledgeBaseError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _Reader:
    """Collects problems while reading one file."""

    def __init__(self, path: Path, sources: dict[str, Source] | None) -> None:
        self.path = path
        self.sources = sources
        self.problems: list[Problem] = []

    def fail(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def mapping(self, value: Any, line: int, what: str) -> LineMap | None:
        if isinstance(value, LineMap):
            return value
        self.fail(line, f"{what}: phải là một bảng khóa: giá trị (mapping)")
        return None

    def text(self, node: LineMap, key: str, required: bool = True) -> str | None:
        value = node.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(node.line_of(key), f"thiếu trường bắt buộc '{key}'")
            return None
        if not isinstance(value, str):
            self.fail(node.line_of(key), f"'{key}' phải là chuỗi văn bản")
            return None
        return " ".join(value.split())

    def day(self, node: LineMap, key: str, required: bool = False) -> date | None:
        value = node.get(key)
        if value is None:
            if required:
                self.fail(node.line_of(key), f"thiếu ngày '{key}' (YYYY-MM-DD)")
            return None
        if isinstance(value, date):
            return value
        self.fail(node.line_of(key), f"'{key}' phải là ngày dạng YYYY-MM-DD, không phải {value!r}")
        return None

    def validity(self, node: LineMap) -> Validity:
        start, end = self.day(node, "valid_from"), self.day(node, "valid_to")
        if start and end and end < start:
            self.fail(node.line_of("valid_to"), "valid_to trước valid_from")
        verified = node.get("verified", True)
        if not isinstance(verified, bool):
            self.fail(node.line_of("verified"), "'verified' phải là true hoặc false")
            verified = True
        return Validity(start, end, verified)

    def source_keys(self, node: LineMap, key: str = "sources", required: bool = True) -> tuple[str, ...]:
        value = node.get(key)
        if not value:
            if required:
                self.fail(node.line_of(key), f"thiếu nguồn ('{key}'): mọi thông tin phải có nguồn")
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(node.line_of(key), f"'{key}' phải là danh sách khóa nguồn")
            return ()
        if self.sources is not None:
            for index, source in enumerate(value):
                if source not in self.sources:
                    line = value.line_of(index) if isinstance(value, LineList) else node.line_of(key)
                    self.fail(line, f"nguồn không có trong sources.yml: {source!r}")
        return tuple(value)

    def mappings(self, node: LineMap, key: str, what: str) -> Iterator[LineMap]:
        """Each mapping in the list under `key`; anything else is reported at its line."""
        value = node.get(key)
        for index, entry in enumerate(value if isinstance(value, list) else []):
            line = value.line_of(index) if isinstance(value, LineList) else node.line
            mapping = self.mapping(entry, line, what)
            if mapping is not None:
                yield mapping

    def items(self, node: LineMap, key: str, required: bool) -> tuple[Item, ...]:
        value = node.get(key)
        if value is None:
            if required:
                self.fail(node.line_of(key), f"thiếu danh sách '{key}'")
            return ()
        if not isinstance(value, list) or not value:
            self.fail(node.line_of(key), f"'{key}' phải là danh sách không rỗng")
            return ()
        items = []
        for index, entry in enumerate(value):
            line = value.line_of(index) if isinstance(value, LineList) else node.line_of(key)
            if isinstance(entry, str) and entry.strip():
                items.append(Item(" ".join(entry.split())))
            elif isinstance(entry, LineMap):
                text = self.text(entry, "text")
                if text:
                    items.append(Item(text, self.validity(entry)))
            else:
                self.fail(line, f"mục trong '{key}' phải là chuỗi hoặc bảng có 'text'")
        return tuple(items)


def load_sources(path: Path) -> tuple[dict[str, Source], list[Problem]]:
    reader = _Reader(path, None)
    data = load_yaml_with_lines(path)
    sources: dict[str, Source] = {}
    if not isinstance(data, LineMap):
        reader.fail(1, "sources.yml phải là bảng khóa nguồn")
        return sources, reader.problems
    for key, value in data.items():
        node = reader.mapping(value, data.line_of(key), f"nguồn {key}")
        if node is None:
            continue
        kind, label = node.get("kind"), reader.text(node, "label")
        if kind not in SOURCE_KINDS:
            reader.fail(node.line_of("kind"), f"kind phải là một trong {sorted(SOURCE_KINDS)}")
        if label:
            sources[key] = Source(key, str(kind), label, node.get("url"))
    return sources, reader.problems


def _read_fees(reader: _Reader, node: LineMap) -> tuple[Fee, ...]:
    value = node.get("items")
    if not isinstance(value, list) or not value:
        reader.fail(node.line_of("items"), "phần lệ phí phải có 'items' (mức lệ phí, 0 = miễn phí)")
        return ()
    fees = []
    for fee in reader.mappings(node, "items", "mức lệ phí"):
        label = reader.text(fee, "label")
        amount = fee.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            reader.fail(fee.line_of("amount"), "'amount' phải là số đồng nguyên, không âm (0 = miễn phí)")
            continue
        sources = reader.source_keys(fee)  # a fee without its own source fails
        validity = reader.validity(fee)
        if validity.valid_from is None:
            reader.fail(fee.line_of("valid_from"), "mức lệ phí phải có 'valid_from'")
        kind = fee.get("kind", "base")
        if kind not in ("base", "reduction"):
            reader.fail(fee.line_of("kind"), "'kind' phải là base hoặc reduction")
        if kind == "reduction" and validity.valid_to is None:
            reader.fail(fee.line, "mức giảm tạm thời phải có 'valid_to' (ngày hết hiệu lực)")
        if label and sources:
            fees.append(
                Fee(label, amount, sources, validity, kind, reader.text(fee, "basis", False),
                    reader.text(fee, "note", False))
            )
    return tuple(fees)


def _read_cases(reader: _Reader, node: LineMap) -> tuple[Case, ...]:
    value = node.get("cases")
    if value is None:
        return ()
    if not isinstance(value, list):
        reader.fail(node.line_of("cases"), "'cases' phải là danh sách")
        return ()
    cases = []
    for case in reader.mappings(node, "cases", "trường hợp hồ sơ"):
        title = reader.text(case, "case")
        items = reader.items(case, "items", required=True)
        if title and items:
            cases.append(Case(title, items, reader.validity(case)))
    return tuple(cases)


def _read_section(reader: _Reader, aspect: str, node: LineMap) -> Section:
    text = reader.text(node, "text", required=False)
    basis = reader.text(node, "basis", required=aspect not in SECTIONS_WITHOUT_BASIS)
    sources = reader.source_keys(node)
    items: tuple[Item, ...] = ()
    cases: tuple[Case, ...] = ()
    fees: tuple[Fee, ...] = ()
    if aspect == "fee":
        fees = _read_fees(reader, node)
    elif aspect == "documents":
        cases = _read_cases(reader, node)
        if not cases and not text:
            reader.fail(node.line, "phần hồ sơ phải có 'cases' hoặc 'text'")
    elif aspect == "forms":
        value = node.get("items")
        if not isinstance(value, list) or not value:
            reader.fail(node.line_of("items"), "phần biểu mẫu phải có 'items' (code, name)")
        else:
            forms = []
            for form in reader.mappings(node, "items", "biểu mẫu"):
                code, name = reader.text(form, "code"), reader.text(form, "name")
                if code and name:
                    forms.append(Item(f"{code}: {name}", reader.validity(form)))
            items = tuple(forms)
    elif aspect in ("legal_basis", "pitfalls"):
        items = reader.items(node, "items", required=True)
    elif not text:
        reader.fail(node.line, f"phần '{aspect}' phải có 'text'")
    return Section(aspect, text, basis, sources, reader.validity(node), items, cases, fees)


def load_procedure(path: Path, sources: dict[str, Source]) -> tuple[Procedure | None, list[Problem]]:
    reader = _Reader(path, sources)
    try:
        data = load_yaml_with_lines(path)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        return None, [Problem(path, (mark.line + 1) if mark else 1, f"YAML lỗi: {error}")]
    node = reader.mapping(data, 1, "tệp thủ tục")
    if node is None:
        return None, reader.problems
    proc_id = reader.text(node, "id")
    if proc_id and proc_id not in PROCEDURE_IDS:
        reader.fail(node.line_of("id"), f"mã thủ tục không có trong danh mục: {proc_id!r}")
    if proc_id and proc_id != path.stem:
        reader.fail(node.line_of("id"), f"id {proc_id!r} khác tên tệp {path.stem!r}")
    name = reader.text(node, "name")
    group = node.get("group")
    if group not in GROUPS:
        reader.fail(node.line_of("group"), f"'group' phải là một trong {list(GROUPS)}")
    codes = node.get("codes", [])
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        reader.fail(node.line_of("codes"), "'codes' phải là danh sách mã chuỗi, ví dụ [\"1.004194\"]")
        codes = []
    code_note = reader.text(node, "code_note", required=False)
    if not codes and not code_note:
        reader.fail(node.line_of("codes"), "không có mã thủ tục thì phải có 'code_note' giải thích")
    updated = reader.day(node, "updated", required=True)
    aliases = node.get("aliases")
    if not isinstance(aliases, list) or not aliases or not all(isinstance(a, str) for a in aliases):
        reader.fail(node.line_of("aliases"), "'aliases' phải là danh sách tên gọi không rỗng")
        aliases = []
    summary = reader.text(node, "summary")
    sections: dict[str, Section] = {}
    raw_sections = reader.mapping(node.get("sections"), node.line_of("sections"), "sections")
    if raw_sections is not None:
        for aspect in raw_sections:
            if aspect not in ASPECTS:
                reader.fail(raw_sections.line_of(aspect), f"phần không biết: {aspect!r}")
        for aspect in ASPECTS:
            if aspect not in raw_sections:
                reader.fail(raw_sections.line, f"thiếu phần '{aspect}'")
                continue
            section = reader.mapping(raw_sections[aspect], raw_sections.line_of(aspect), aspect)
            if section is not None:
                sections[aspect] = _read_section(reader, aspect, section)
    if reader.problems or not (proc_id and name and updated and summary):
        return None, reader.problems
    return (
        Procedure(proc_id, name, str(group), tuple(codes), updated, tuple(aliases), summary,
                  sections, code_note),
        reader.problems,
    )


def load_faq_file(path: Path, sources: dict[str, Source]) -> tuple[list[FaqEntry], list[Problem]]:
    reader = _Reader(path, sources)
    try:
        data = load_yaml_with_lines(path)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        return [], [Problem(path, (mark.line + 1) if mark else 1, f"YAML lỗi: {error}")]
    if not isinstance(data, list):
        return [], [Problem(path, 1, "tệp FAQ phải là danh sách các mục")]
    entries = []
    for index, raw in enumerate(data):
        line = data.line_of(index) if isinstance(data, LineList) else 1
        node = reader.mapping(raw, line, "mục FAQ")
        if node is None:
            continue
        entry = _read_faq_entry(reader, node)
        if entry is not None:
            entries.append(entry)
    return entries, reader.problems


def _read_faq_entry(reader: _Reader, node: LineMap) -> FaqEntry | None:
    """One FAQ entry, or None when it has a problem (reported to `reader`)."""
    before = len(reader.problems)
    entry_id = reader.text(node, "id")
    procedure = node.get("procedure")
    if procedure is not None and procedure not in PROCEDURE_IDS:
        reader.fail(node.line_of("procedure"), f"mã thủ tục không có trong danh mục: {procedure!r}")
    questions = node.get("questions")
    if not isinstance(questions, list) or len(questions) < 2 or not all(
        isinstance(q, str) and q.strip() for q in questions
    ):
        reader.fail(node.line_of("questions"), "'questions' phải có ít nhất 2 cách hỏi")
        questions = []
    answer = reader.text(node, "answer")
    basis = reader.text(node, "basis", required=False)
    sources_ = reader.source_keys(node)
    updated = reader.day(node, "updated", required=True)
    validity = reader.validity(node)
    if len(reader.problems) == before and entry_id and answer and updated:
        return FaqEntry(entry_id, tuple(q.strip() for q in questions), answer, basis, sources_,
                        updated, validity, procedure)
    return None


# One entry given as plain data (the officers' console stores JSON payloads): the same rules
# as the files, with dates as ISO strings accepted; problems carry line 0.
DATE_KEYS = ("valid_from", "valid_to", "updated")


def _with_lines(value: Any, key: str | None = None) -> Any:
    """Plain dicts/lists as the line-tracking types the reader expects; ISO date strings
    under date keys as dates (anything else is left for the reader to report)."""
    if isinstance(value, LineMap | LineList):
        return value
    if isinstance(value, dict):
        return LineMap({k: _with_lines(v, str(k)) for k, v in value.items()})
    if isinstance(value, list):
        return LineList(_with_lines(v) for v in value)
    if key in DATE_KEYS and isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return value
    return value


def read_faq_entry(data: Any, sources: dict[str, Source],
                   where: Path = Path("<mục FAQ>")) -> tuple[FaqEntry | None, list[Problem]]:
    """Validate one FAQ entry given as a mapping; the entry only when it has no problem."""
    reader = _Reader(where, sources)
    node = reader.mapping(_with_lines(data), 0, "mục FAQ")
    entry = _read_faq_entry(reader, node) if node is not None else None
    return (entry if not reader.problems else None), reader.problems


def read_section(aspect: str, data: Any, sources: dict[str, Source],
                 where: Path = Path("<phần thủ tục>")) -> tuple[Section | None, list[Problem]]:
    """Validate one procedure section given as a mapping; the section only when it has no problem."""
    reader = _Reader(where, sources)
    if aspect not in ASPECTS:
        return None, [Problem(where, 0, f"phần không biết: {aspect!r}")]
    node = reader.mapping(_with_lines(data), 0, aspect)
    section = _read_section(reader, aspect, node) if node is not None else None
    return (section if not reader.problems else None), reader.problems


def load_knowledge_base(root: Path, strict: bool = True) -> KnowledgeBase:
    """Load everything under `root`; with `strict`, any problem raises KnowledgeBaseError."""
    kb, problems = check_knowledge_base(root)
    if strict and problems:
        raise KnowledgeBaseError(problems)
    return kb


def check_knowledge_base(root: Path) -> tuple[KnowledgeBase, list[Problem]]:
    sources, problems = load_sources(root / "sources.yml")
    kb = KnowledgeBase(sources=sources)
    for path in sorted((root / "procedures").glob("*.yml")):
        procedure, found = load_procedure(path, sources)
        problems.extend(found)
        if procedure:
            kb.procedures[procedure.id] = procedure
    for missing in sorted(set(PROCEDURE_IDS) - {p.stem for p in (root / "procedures").glob("*.yml")}):
        problems.append(Problem(root / "procedures" / f"{missing}.yml", 0, "thiếu tệp cho thủ tục trong danh mục"))
    for path in sorted((root / "faq").glob("*.yml")):
        entries, found = load_faq_file(path, sources)
        problems.extend(found)
        for entry in entries:
            if entry.id in kb.faq:
                problems.append(Problem(path, 0, f"trùng id FAQ {entry.id!r}"))
            kb.faq[entry.id] = entry
    return kb, problems
