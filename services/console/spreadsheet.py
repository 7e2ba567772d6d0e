"""The FAQ as a spreadsheet (.xlsx or CSV): export, and import with a preview.

One row per published FAQ entry, columns `COLUMNS` (header in row 1, in any order; `updated`
may be left out). Questions are one per line inside their cell, in both formats (CSV quotes
multi-line cells, Excel opens them as such); on import a `|` also separates questions. Sources
are keys of sources.yml separated by commas. `verified` is "có" or "không" (also true/false,
1/0). Dates are YYYY-MM-DD (also DD/MM/YYYY, or a date cell in .xlsx). `updated` is only
information: an imported new or changed entry gets the day of the import.

Import never changes anything by itself: `preview` reads the file, checks every row with the
loader's rules (`read_faq_entry`, through the store's `payload_problems`) and compares it
with the published content: new entries, changed entries (field by field), unchanged ones,
and published entries missing from the file. `apply` then makes drafts (an approver may also
publish them all with one reason); missing entries are retired only when asked. A file with
any problem is refused as a whole, each problem given as row and column, in Vietnamese.

Formula injection: an exported cell that begins with = + - @ (or a tab or carriage return)
gets a leading apostrophe, which import removes again; import reads .xlsx with openpyxl in
read-only, data-only mode (a formula is never evaluated: its cached value, if any, is read
as text) and stores every cell as text.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

from assistant.knowledge.loader import read_faq_entry
from assistant.knowledge.store import FAQ_ID, StoreError, canonical
from assistant.knowledge.yaml_lines import LineList, LineMap
from services.console.content import Content, ContentInvalid

COLUMNS = ("id", "procedure", "questions", "answer", "basis", "sources", "valid_from", "valid_to",
           "verified", "updated")
OPTIONAL_COLUMNS = {"updated"}
COLUMN_NAMES = {"id": "mã", "procedure": "thủ tục", "questions": "các cách hỏi", "answer": "câu trả lời",
                "basis": "căn cứ", "sources": "nguồn", "valid_from": "hiệu lực từ",
                "valid_to": "hiệu lực đến",
                "verified": "đã kiểm chứng", "updated": "cập nhật"}
MAX_BYTES = 2 * 1024 * 1024
MAX_UNPACKED = 40 * 1024 * 1024  # an .xlsx file's parts, unzipped
MAX_ROWS = 2000  # data rows (the base has about 125 entries)
MAX_CELL = 20000  # characters, as the edit form
MAX_COLUMNS = 40
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
YES = {"có", "co", "true", "1", "x", "yes", "đúng", "c"}
NO = {"không", "khong", "false", "0", "no", "sai", "k"}
DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
QUOTED = re.compile(r"'(\w+)'")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


class ImportRefused(ValueError):
    """The file cannot be imported; `problems` say where (row, column) and what, in Vietnamese."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# ---------------------------------------------------------------- export

def neutralise(text: str) -> str:
    """A cell a spreadsheet would not run as a formula."""
    return "'" + text if text.startswith(DANGEROUS_START) else text


def unneutralise(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(DANGEROUS_START) else text


def published_faq(content: Content) -> dict[str, tuple[int, dict[str, Any]]]:
    """Every FAQ entry as published now (retired ones left out): key → (version, payload)."""
    latest = {k: v for k, v in content.store.latest_all().items() if k.startswith("faq:")}
    found: dict[str, tuple[int, dict[str, Any]]] = {}
    keys = [*(k for k in content.base if k.startswith("faq:")), *(k for k in latest if k not in content.base)]
    for key in keys:
        version = latest.get(key)
        payload = version.payload if version else content.base[key]
        if payload is not None:
            found[key] = (version.version if version else 0, payload)
    return found


def export_row(payload: dict[str, Any]) -> list[str]:
    values = {
        "id": payload.get("id", ""), "procedure": payload.get("procedure") or "",
        "questions": "\n".join(payload.get("questions") or []), "answer": payload.get("answer") or "",
        "basis": payload.get("basis") or "", "sources": ", ".join(payload.get("sources") or []),
        "valid_from": payload.get("valid_from") or "", "valid_to": payload.get("valid_to") or "",
        "verified": "không" if payload.get("verified") is False else "có",
        "updated": payload.get("updated") or "",
    }
    return [neutralise(str(values[c])) for c in COLUMNS]


def export_rows(content: Content) -> list[list[str]]:
    return [export_row(payload) for _, payload in published_faq(content).values()]


def to_csv(rows: Iterable[list[str]]) -> bytes:
    """UTF-8 with a BOM (so that Excel reads Vietnamese correctly), comma-separated, CRLF."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: Iterable[list[str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "FAQ"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            cell.data_type = "s"  # text, never a formula (the values are neutralised as well)
            cell.alignment = wrap
    for index, width in enumerate((28, 14, 50, 70, 40, 24, 12, 12, 10, 12)):
        sheet.column_dimensions[column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- reading a file

def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_table(data: bytes, filename: str = "") -> list[list[str]]:
    """The file's rows as text (row 1 is the header). ImportRefused when it is not a readable
    .xlsx or UTF-8 CSV file within the limits."""
    if len(data) > MAX_BYTES:
        raise ImportRefused([f"Tệp quá lớn ({len(data) / 1024 / 1024:.1f} MB): tối đa "
                             f"{MAX_BYTES // 1024 // 1024} MB."])
    if not data.strip():
        raise ImportRefused(["Tệp rỗng: không có dòng tiêu đề nào."])
    suffix = PurePath(filename or "").suffix.lower()
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if suffix == ".xlsx":
        raise ImportRefused(["Tệp có đuôi .xlsx nhưng không phải bảng tính Excel (.xlsx) đọc được."])
    if suffix not in ("", ".csv", ".txt"):
        raise ImportRefused([f"Tệp {filename!r} không phải bảng tính: chỉ nhận .xlsx hoặc .csv (UTF-8)."])
    return _read_csv(data)


def _read_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:  # a zip bomb is refused before anything is unpacked
        unpacked = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ImportRefused(["Tệp không phải bảng tính Excel (.xlsx) đọc được "
                             f"({type(error).__name__})."]) from error
    if unpacked > MAX_UNPACKED:
        raise ImportRefused([f"Tệp .xlsx giải nén ra quá lớn ({unpacked // 1024 // 1024} MB): tối đa "
                             f"{MAX_UNPACKED // 1024 // 1024} MB."])
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds on a damaged file
        raise ImportRefused(["Tệp không phải bảng tính Excel (.xlsx) đọc được "
                             f"({type(error).__name__})."]) from error
    try:
        sheet = book["FAQ"] if "FAQ" in book.sheetnames else book.worksheets[0]
        rows: list[list[str]] = []
        for values in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            rows.append([_cell_text(v) for v in values])
            if len(rows) > MAX_ROWS + 1:
                break
    except Exception as error:
        raise ImportRefused(["Tệp không phải bảng tính Excel (.xlsx) đọc được "
                             f"({type(error).__name__})."]) from error
    finally:
        book.close()
    return _within_limits(rows)


def _read_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRefused(["Tệp không phải bảng tính CSV mã hóa UTF-8 (trong Excel: Lưu thành → "
                             f"\"CSV UTF-8\"); byte lỗi ở vị trí {error.start}."]) from error
    if "\x00" in text:
        raise ImportRefused(["Tệp không phải bảng tính CSV (có ký tự nhị phân)."])
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            rows.append(row[:MAX_COLUMNS])
            if len(rows) > MAX_ROWS + 1:
                break
    except csv.Error as error:
        raise ImportRefused([f"Dòng {reader.line_num}: tệp CSV hỏng ({error})."]) from error
    return _within_limits(rows)


def _within_limits(rows: list[list[str]]) -> list[list[str]]:
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    if len(rows) > MAX_ROWS + 1:
        raise ImportRefused([f"Tệp có quá nhiều dòng: tối đa {MAX_ROWS} mục (không kể dòng tiêu đề)."])
    for number, row in enumerate(rows, start=1):
        for index, value in enumerate(row):
            if len(value) > MAX_CELL:
                raise ImportRefused([f"Dòng {number}, cột {column_letter(index)}: ô dài quá {MAX_CELL} "
                                     "ký tự."])
    return rows


def read_header(row: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    problems = []
    for index, raw in enumerate(row):
        name = raw.strip().lstrip("\ufeff").lower()
        if not name:
            continue
        where = f"Dòng 1, cột {column_letter(index)}"
        if name not in COLUMNS:
            problems.append(f"{where}: tiêu đề không biết {raw.strip()!r} (các cột: {', '.join(COLUMNS)}).")
        elif name in columns:
            problems.append(f"{where}: cột {name!r} lặp lại (đã có ở cột {column_letter(columns[name])}).")
        else:
            columns[name] = index
    for name in COLUMNS:
        if name not in columns and name not in OPTIONAL_COLUMNS:
            problems.append(f"Dòng 1: thiếu cột {name!r} ({COLUMN_NAMES[name]}) trong dòng tiêu đề.")
    if problems:
        raise ImportRefused(["Dòng tiêu đề sai; cần đúng các cột: " + ", ".join(COLUMNS) + ".", *problems])
    return columns


# ---------------------------------------------------------------- rows to entries

def _day(text: str) -> str:
    match = DMY.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return text
    return text


def _norm(value: Any) -> Any:
    """A field as compared between file and store: whitespace does not count."""
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


def fields_of(payload: dict[str, Any]) -> dict[str, Any]:
    """The spreadsheet's fields of a payload (without `updated`), normalised for comparing."""
    return {
        "procedure": payload.get("procedure") or None,
        "questions": _norm(list(payload.get("questions") or [])),
        "answer": _norm(payload.get("answer") or ""),
        "basis": _norm(payload.get("basis") or ""),
        "sources": list(payload.get("sources") or []),
        "valid_from": str(payload["valid_from"]) if payload.get("valid_from") else None,
        "valid_to": str(payload["valid_to"]) if payload.get("valid_to") else None,
        "verified": payload.get("verified") is not False,
    }


@dataclass
class Row:
    number: int
    entry_id: str
    values: dict[str, Any]  # field → value as given (None: empty)
    columns: dict[str, int]


def _row_values(number: int, row: list[str], columns: dict[str, int]) -> tuple[Row, list[str]]:
    problems: list[str] = []

    def cell(name: str) -> str:
        index = columns.get(name)
        value = row[index] if index is not None and index < len(row) else ""
        return unneutralise(value.strip()).strip()

    def where(name: str) -> str:
        return f"Dòng {number}, cột {column_letter(columns[name])} ({name})"

    entry_id = cell("id")
    if not entry_id:
        problems.append(f"{where('id')}: thiếu mã mục.")
    elif not FAQ_ID.match(entry_id):
        problems.append(f"{where('id')}: mã {entry_id!r} không hợp lệ (chỉ chữ thường không dấu, số và "
                        "dấu gạch ngang, ví dụ doi-cccd-het-han).")
    questions = [q.strip() for line in cell("questions").splitlines() for q in line.split("|") if q.strip()]
    verified_text = cell("verified").lower()
    verified: bool | None = True
    if verified_text in YES or not verified_text:
        verified = True
    elif verified_text in NO:
        verified = False
    else:
        problems.append(f"{where('verified')}: ghi \"có\" hoặc \"không\", không phải {cell('verified')!r}.")
        verified = None
    values: dict[str, Any] = {
        "procedure": cell("procedure") or None,
        "questions": questions,
        "answer": cell("answer"),
        "basis": cell("basis"),
        "sources": [s for s in re.split(r"[,;\s]+", cell("sources")) if s],
        "valid_from": _day(cell("valid_from")) or None,
        "valid_to": _day(cell("valid_to")) or None,
        "verified": verified,
    }
    return Row(number, entry_id, values, columns), problems


def _payload(row: Row, current: dict[str, Any] | None, today: date) -> dict[str, Any]:
    """The entry's payload after the import: the current one (if any) with the file's fields."""
    payload = dict(current or {})
    payload["id"] = row.entry_id
    for name, value in row.values.items():
        if name == "verified":
            if value is False:
                payload["verified"] = False
            else:
                payload.pop("verified", None)
        elif value in (None, "", []):
            payload.pop(name, None)
        elif current is not None and name in current and _norm(current[name]) == _norm(value):
            continue  # the same but for spacing: keep the stored text as it is
        else:
            payload[name] = value
    payload["updated"] = today.isoformat()
    return payload


def _lined(payload: dict[str, Any], columns: dict[str, int]) -> LineMap:
    """The payload as the loader's line-tracking mapping, each field's "line" being its column
    number (1-based), so that the loader's problems say which column is wrong."""
    node = LineMap()
    for name, value in payload.items():
        if isinstance(value, list):
            items = LineList(value)
            items.item_lines = [columns.get(name, -1) + 1] * len(value)
            items.line = columns.get(name, -1) + 1
            value = items
        elif name in ("valid_from", "valid_to", "updated") and isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                pass
        node[name] = value
    node.key_lines = {name: index + 1 for name, index in columns.items()}
    return node


def row_problems(content: Content, key: str, payload: dict[str, Any], row: Row) -> list[str]:
    """The store's own check of the payload (`payload_problems`: the loader's rules and the
    console's), each problem placed in its column."""
    problems = content.check(key, payload)
    located = {p.message: p.line for p in read_faq_entry(_lined(payload, row.columns),
                                                         content.base_kb.sources)[1]}
    placed = []
    for message in problems:
        column = located.get(message, 0) - 1
        if column < 0:
            named = [n for n in QUOTED.findall(message) if n in row.columns]
            column = row.columns[named[0]] if named else -1
        name = next((n for n, i in row.columns.items() if i == column), None)
        where = f"Dòng {row.number}, cột {column_letter(column)} ({name})" if name else f"Dòng {row.number}"
        placed.append(f"{where}: {_vietnamese(message)}")
    return placed


def _vietnamese(message: str) -> str:
    return (message.replace("valid_to trước valid_from", "ngày hết hiệu lực (valid_to) trước ngày bắt đầu "
                            "hiệu lực (valid_from)")
            .replace("'verified' phải là true hoặc false", "'verified' phải là \"có\" hoặc \"không\""))


# ---------------------------------------------------------------- the preview

@dataclass
class FieldChange:
    name: str
    old: str
    new: str


@dataclass
class PlanItem:
    key: str
    row: int | None
    title: str
    base_version: int
    payload: dict[str, Any] | None = None
    changes: list[FieldChange] = field(default_factory=list)
    open_drafts: int = 0


@dataclass
class Preview:
    new: list[PlanItem]
    changed: list[PlanItem]
    unchanged: list[PlanItem]
    missing: list[PlanItem]

    def plan(self) -> dict[str, Any]:
        """What `apply` needs, as plain data (carried by the preview page's form, or the API's
        client): the new and changed payloads and the missing keys, each with the published
        version it was compared with."""
        entries = [(True, i) for i in self.new] + [(False, i) for i in self.changed]
        return {"entries": [{"key": i.key, "row": i.row, "base_version": i.base_version, "payload": i.payload,
                             "new": new} for new, i in entries],
                "missing": [{"key": i.key, "base_version": i.base_version} for i in self.missing]}


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def preview(content: Content, data: bytes, filename: str = "") -> Preview:
    table = read_table(data, filename)
    if not table:
        raise ImportRefused(["Tệp rỗng: không có dòng tiêu đề nào."])
    columns = read_header(table[0])
    published = published_faq(content)
    drafts: dict[str, int] = {}
    for draft in content.store.drafts("open"):
        drafts[draft.entry_key] = drafts.get(draft.entry_key, 0) + 1
    problems: list[str] = []
    seen: dict[str, int] = {}
    result = Preview([], [], [], [])
    today = content.today()
    for number, raw in enumerate(table[1:], start=2):
        if not any(c.strip() for c in raw):
            continue
        row, found = _row_values(number, raw, columns)
        problems += found
        if not row.entry_id or found and any("cột " + column_letter(columns["id"]) in p for p in found):
            continue
        if row.entry_id in seen:
            problems.append(f"Dòng {number}, cột {column_letter(columns['id'])} (id): mã {row.entry_id!r} "
                            f"trùng với dòng {seen[row.entry_id]}.")
            continue
        seen[row.entry_id] = number
        if found:
            continue
        key = f"faq:{row.entry_id}"
        version, current = published.get(key, (None, None))
        payload = _payload(row, current, today)
        row_found = row_problems(content, key, payload, row)
        if row_found:
            problems += row_found
            continue
        title = payload["questions"][0] if payload.get("questions") else key
        if current is None:
            base = content.store.latest_version_number(key)
            result.new.append(PlanItem(key, number, title, base, canonical(payload),
                                       open_drafts=drafts.get(key, 0)))
            continue
        old, new = fields_of(current), fields_of(payload)
        changes = [FieldChange(n, _show(old[n]), _show(new[n])) for n in old if old[n] != new[n]]
        item = PlanItem(key, number, title, int(version or 0), canonical(payload) if changes else None,
                        changes, drafts.get(key, 0))
        (result.changed if changes else result.unchanged).append(item)
    if problems:
        raise ImportRefused(problems)
    for key, (version, payload) in published.items():
        if key[4:] not in seen:
            result.missing.append(PlanItem(key, None, content.title(key, payload), version,
                                           open_drafts=drafts.get(key, 0)))
    return result


# ---------------------------------------------------------------- applying it

@dataclass
class Applied:
    drafts: list[int]
    published: list[str]
    retired: list[str]
    warnings: list[str]


def plan_digest(plan: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(plan, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def apply(content: Content, plan: dict[str, Any], by: str, *, retire_missing: bool = False,
          publish_reason: str | None = None, note: str = "", search: Any = None) -> Applied:
    """Drafts for the plan's new and changed entries (and retirements of the missing ones when
    `retire_missing`); with `publish_reason` (an approver), each is published with it. Refused
    as a whole, before anything is stored, when an entry was published again since the
    preview or no longer passes the check."""
    entries = plan.get("entries") if isinstance(plan, dict) else None
    missing = plan.get("missing") if isinstance(plan, dict) else None
    if not isinstance(entries, list) or not isinstance(missing, list):
        raise ImportRefused(["Kế hoạch nhập không đọc được; hãy tải tệp lên và xem trước lại."])
    todo: list[tuple[str, Any, bool, int | None]] = []
    problems: list[str] = []
    for retire, item in [*((False, e) for e in entries), *((True, m) for m in missing if retire_missing)]:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise ImportRefused(["Kế hoạch nhập không đọc được; hãy tải tệp lên và xem trước lại."])
        key = item["key"]
        payload = None if retire else item.get("payload")
        row = item.get("row")
        try:
            if not key.startswith("faq:"):
                raise StoreError(f"Khóa {key!r} không phải mục hỏi đáp.")
            latest = content.store.latest_version_number(key)
        except StoreError as error:
            problems.append(str(error))
            continue
        if latest != item.get("base_version"):
            problems.append(f"Mục {key} đã được xuất bản lại (phiên bản {latest}) từ khi xem trước; hãy xem "
                            "trước lại.")
            continue
        found = content.check(key, content._prepared(key, payload))
        problems += [f"Dòng {row}: {p}" if row else f"{key}: {p}" for p in found]
        is_new = not retire and (not content.exists(key) or content.current(key)[1] is None)
        todo.append((key, payload, is_new, row))
    if publish_reason is not None and not " ".join(publish_reason.split()):
        problems.append("Cần ghi lý do xuất bản (được lưu cùng từng phiên bản).")
    if problems:
        raise ImportRefused(problems)
    result = Applied([], [], [], [])
    for key, payload, is_new, row in todo:
        where = f" (dòng {row})" if row else ""
        try:
            saved = content.save_draft(key, payload, by, f"{note}{where}".strip(), new=is_new, search=search)
        except ContentInvalid as error:  # only when the content changed during the loop
            raise ImportRefused([f"{key}: {p}" for p in error.problems]) from error
        result.drafts.append(saved.draft.id)
        result.warnings += saved.warnings
        if payload is None:
            result.retired.append(key)
        if publish_reason is not None:
            content.publish(saved.draft.id, by, publish_reason)
            result.published.append(key)
    return result
