"""What the console does with content: the YAML base (version 0) plus the content store,
validation of drafts, the near-duplicate warning, history and diffs.

Holds nothing that changes: the YAML base is read once (the shipped files do not change
while the app runs), everything else is read from the store on each call.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from assistant.knowledge.loader import load_knowledge_base, read_faq_entry
from assistant.knowledge.model import ASPECT_TITLES, KnowledgeBase
from assistant.knowledge.store import (
    ContentStore,
    Draft,
    StoreError,
    Version,
    apply_overlay,
    base_payloads,
    canonical,
    diff_payloads,
    entry_kind,
    payload_problems,
    section_of,
)

logger = logging.getLogger(__name__)

# Without the semantic search, an existing FAQ entry counts as a near-duplicate when BM25
# scores it at least this share of the new entry's own score for one of its questions.
LEXICAL_DUPLICATE_SHARE = 0.75
BASE_AUTHOR = "tệp YAML gốc"
WORD = re.compile(r"\w+")


class ContentInvalid(ValueError):
    """A draft that cannot be saved: `problems` are shown to the officer (Vietnamese)."""

    def __init__(self, problems: list[str], status: int = 422) -> None:
        self.problems = problems
        self.status = status
        super().__init__("; ".join(problems))


def fold(text: str) -> str:
    """Lower case without diacritics (đ → d), for searching the list of entries."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("đ", "d")


@dataclass(frozen=True)
class EntrySummary:
    key: str
    kind: str
    title: str
    version: int
    retired: bool
    open_drafts: int


@dataclass(frozen=True)
class HistoryItem:
    version: int
    payload: Any
    published_by: str
    proposed_by: str | None
    published_at: str | None
    reason: str
    restored_from: int | None = None

    @property
    def retired(self) -> bool:
        return self.payload is None


@dataclass(frozen=True)
class SavedDraft:
    draft: Draft
    warnings: list[str] = field(default_factory=list)


class Content:
    def __init__(self, base_dir: Path, store: ContentStore, today: Callable[[], date],
                 answer_score: float | None = None, tuning_file: Path | None = None) -> None:
        self.base_dir = base_dir
        self.store = store
        self.today = today
        self.base_kb: KnowledgeBase = load_knowledge_base(base_dir)
        self.base: dict[str, Any] = base_payloads(base_dir)
        self.answer_score = answer_score if answer_score is not None else _answer_score(tuning_file)

    # reading

    def published_kb(self) -> KnowledgeBase:
        return apply_overlay(self.base_kb, self.store.latest_all())

    def exists(self, key: str) -> bool:
        return key in self.base or self.store.latest_version_number(key) > 0

    def current(self, key: str) -> tuple[int, Any]:
        """The published version number and payload of an entry (0: the YAML file's)."""
        latest = self.store.latest_version_number(key)
        if latest:
            version = self.store.version(key, latest)
            assert version is not None
            return latest, version.payload
        if key not in self.base:
            raise StoreError(f"Không có mục {key}.")
        return 0, self.base[key]

    def title(self, key: str, payload: Any) -> str:
        if key.startswith("faq:"):
            questions = (payload or self.base.get(key) or {}).get("questions") or []
            return str(questions[0]) if questions else key
        procedure_id, aspect = section_of(key)
        procedure = self.base_kb.procedures.get(procedure_id)
        name = procedure.name if procedure else procedure_id
        return f"{name}: {ASPECT_TITLES.get(aspect, aspect)}"

    def entries(self, query: str = "", kind: str | None = None) -> list[EntrySummary]:
        latest = self.store.latest_all()
        drafts: dict[str, int] = {}
        for draft in self.store.drafts("open"):
            drafts[draft.entry_key] = drafts.get(draft.entry_key, 0) + 1
        words = WORD.findall(fold(query))
        phrase = " ".join(words)
        found: list[tuple[int, int, EntrySummary]] = []
        for key in [*self.base, *(k for k in latest if k not in self.base)]:
            entry_kind_ = "faq" if key.startswith("faq:") else "section"
            if kind and entry_kind_ != kind:
                continue
            version = latest.get(key)
            payload = version.payload if version else self.base[key]
            title = self.title(key, payload)
            body = yaml.safe_dump(payload, allow_unicode=True)
            text = " ".join(WORD.findall(fold(f"{key} {title} {body}")))
            if not set(words) <= set(text.split()):
                continue
            # the whole phrase first, then the phrase in the title or key, then the files' order
            head = " ".join(WORD.findall(fold(f"{key} {title}")))
            rank = (0 if not phrase or f" {phrase} " in f" {head} " else
                    1 if f" {phrase} " in f" {text} " else 2)
            summary = EntrySummary(key, entry_kind_, title, version.version if version else 0,
                                   payload is None, drafts.get(key, 0))
            found.append((rank, len(found), summary))
        return [entry for _, _, entry in sorted(found)]

    def history(self, key: str) -> list[HistoryItem]:
        items = []
        if key in self.base:
            items.append(HistoryItem(0, self.base[key], BASE_AUTHOR, None, None,
                                     "nội dung phát hành kèm hệ thống"))
        items += [HistoryItem(v.version, v.payload, v.published_by, v.proposed_by, v.published_at, v.reason,
                              v.restored_from) for v in self.store.versions(key)]
        return items

    def payload_at(self, key: str, number: int) -> Any:
        if number == 0 and key in self.base:
            return self.base[key]
        version = self.store.version(key, number) if number > 0 else None
        if version is None:
            raise StoreError(f"Mục {key} không có phiên bản {number}.")
        return version.payload

    def diff(self, key: str, old: int, new: int) -> str:
        return diff_payloads(self.payload_at(key, old), self.payload_at(key, new),
                             f"{key} phiên bản {old}", f"{key} phiên bản {new}")

    def draft_diff(self, draft: Draft) -> str:
        try:
            number, payload = self.current(draft.entry_key)
        except StoreError:
            number, payload = -1, None
        old_label = f"{draft.entry_key} phiên bản {number}" if number >= 0 else f"{draft.entry_key} (mục mới)"
        return diff_payloads(payload, draft.payload, old_label, f"bản nháp số {draft.id}")

    # writing

    def _prepared(self, key: str, payload: Any) -> Any:
        """The payload as stored: plain JSON data; a FAQ entry gets its id and today's
        `updated` when they are left out."""
        payload = canonical(payload)
        if key.startswith("faq:") and isinstance(payload, dict):
            payload.setdefault("id", key[4:])
            if not payload.get("updated"):
                payload["updated"] = self.today().isoformat()
        return payload

    def check(self, key: str, payload: Any) -> list[str]:
        return payload_problems(key, payload, self.published_kb())

    def save_draft(self, key: str, payload: Any, by: str, note: str = "", *, new: bool = False,
                   draft_id: int | None = None, search: Any = None) -> SavedDraft:
        """Create (or, with `draft_id`, edit) a draft after validating it; nothing is stored
        when it has a problem. A new FAQ entry is compared with the existing ones."""
        try:
            kind = entry_kind(key)
        except StoreError as error:
            raise ContentInvalid([str(error)]) from error
        if draft_id is None:
            if new and kind == "section":
                raise ContentInvalid(["Phần của thủ tục đã có sẵn; chỉ sửa được, không tạo mới."])
            if new and self.exists(key) and self.current(key)[1] is not None:
                raise ContentInvalid([f"Mã {key} đã có; hãy sửa mục đó hoặc chọn mã khác."], 409)
            if not new and not self.exists(key):
                raise ContentInvalid([f"Không có mục {key}; muốn thêm mục mới thì chọn \"Thêm mục\"."], 404)
        payload = self._prepared(key, payload)
        problems = self.check(key, payload)
        if problems:
            raise ContentInvalid(problems)
        warnings: list[str] = []
        if kind == "faq" and payload is not None and (new or not self.exists(key)):
            warnings = self.near_duplicates(key, payload, search)
        if draft_id is None:
            draft = self.store.create_draft(key, payload, by, note)
        else:
            existing = self.store.draft(draft_id)
            if existing is None or existing.entry_key != key:
                raise ContentInvalid([f"Không có bản nháp số {draft_id} cho mục {key}."], 404)
            draft = self.store.update_draft(draft_id, payload, by, note)
        return SavedDraft(draft, warnings)

    def publish(self, draft_id: int, by: str, reason: str) -> Version:
        draft = self.store.draft(draft_id)
        if draft is None:
            raise StoreError(f"Không có bản nháp số {draft_id}.")
        problems = self.check(draft.entry_key, draft.payload)
        if problems:  # e.g. sources.yml changed since the draft was saved
            raise ContentInvalid(problems)
        return self.store.publish_draft(draft_id, by, reason)

    def restore(self, key: str, number: int, by: str, reason: str) -> Version:
        payload = self.payload_at(key, number)
        problems = self.check(key, payload)
        if problems:
            raise ContentInvalid([f"Phiên bản {number} không còn hợp lệ: {p}" for p in problems])
        return self.store.restore(key, number, by, reason, base_payload=self.base.get(key))

    # near-duplicates

    def near_duplicates(self, key: str, payload: dict[str, Any], search: Any) -> list[str]:
        """Warnings (never refusals) for question variants whose best match is another FAQ
        entry: by the running app's search when it is ready, else by BM25."""
        questions = [q for q in payload.get("questions") or [] if isinstance(q, str) and q.strip()]
        if search is not None:
            score_floor = getattr(getattr(search, "tuning", None), "answer_score", self.answer_score)
            return self._semantic_duplicates(key, questions, search, score_floor)
        return self._lexical_duplicates(key, payload, questions)

    def _semantic_duplicates(self, key: str, questions: list[str], search: Any, floor: float) -> list[str]:
        warnings: dict[str, str] = {}
        for question in questions:
            hits = [h for h in search.search(question, self.today(), 3) if h.passage.key != key]
            if hits and hits[0].passage.faq_id and hits[0].score >= floor:
                top = hits[0]
                warnings.setdefault(top.passage.key, (
                    f"Câu hỏi «{question}» rất giống mục có sẵn {top.passage.key} («{top.passage.title}», "
                    f"điểm {top.score:.2f} ≥ {floor:.2f}): kiểm tra xem có trùng không trước khi xuất bản."))
        return list(warnings.values())

    def _lexical_duplicates(self, key: str, payload: dict[str, Any], questions: list[str]) -> list[str]:
        from assistant.knowledge.lexical import LexicalIndex  # heavy (Vietnamese segmenter): only here
        from assistant.knowledge.passages import build_passages

        entry, _ = read_faq_entry(payload, self.base_kb.sources)
        if entry is None:
            return []
        kb = self.published_kb()
        kb.faq = {**{k: v for k, v in kb.faq.items() if f"faq:{k}" != key}, entry.id: entry}
        passages = [p for p in build_passages(kb) if p.validity.in_force(self.today()) or p.key == key]
        index = LexicalIndex(passages)
        warnings: dict[str, str] = {}
        for question in questions:
            scores = index.scores(question)
            own = next((float(s) for p, s in zip(passages, scores) if p.key == key), 0.0)
            others = [(float(s), p) for p, s in zip(passages, scores) if p.key != key and p.faq_id]
            if own <= 0 or not others:
                continue
            score, best = max(others, key=lambda pair: pair[0])
            if score >= LEXICAL_DUPLICATE_SHARE * own:
                warnings.setdefault(best.key, (
                    f"Câu hỏi «{question}» rất giống mục có sẵn {best.key} («{best.title}») "
                    "(tìm kiếm ngữ nghĩa chưa sẵn sàng nên đã so bằng từ khóa BM25): kiểm tra xem có trùng "
                    "không trước khi xuất bản."))
        return list(warnings.values())


def _answer_score(path: Path | None) -> float:
    if path is not None and path.is_file():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if isinstance(data.get("answer_score"), int | float):
            return float(data["answer_score"])
    return 0.9
