"""FAQ import and export as a spreadsheet (.xlsx and CSV): the round trip, the preview of new,
changed, unchanged and missing entries, applying it as drafts (or published by an approver),
every kind of malformed file refused with its row and column and nothing stored, formula
injection, and who may do what."""
from __future__ import annotations

import csv
import html
import io
import re
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from test_console_access import console_routes

from services.console.auth import EDITORS, READERS
from services.console.spreadsheet import COLUMNS, MAX_BYTES, MAX_ROWS

NEW_ID = "nhap-thu-bang-tinh"
NEW_ROW = {"id": NEW_ID, "procedure": "dang-ky-tam-tru",
           "questions": "Nhập thử bảng tính có được không?\nThử nhập mục hỏi đáp từ tệp CSV",
           "answer": "Được, đây là mục nhập thử từ bảng tính.", "basis": "Luật Cư trú 2020",
           "sources": "luat-cu-tru-2020", "valid_from": "", "valid_to": "", "verified": "có", "updated": ""}


def a_source(world) -> str:
    return sorted(world.console.content.base_kb.sources)[0]


def export(client, fmt: str) -> bytes:
    response = client.get("/console/api/faq/export", params={"format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment;")
    return response.content


def rows_of_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def csv_file(rows: list[dict[str, str]], columns=COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_file(rows: list[dict[str, str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append([row.get(c, "") for c in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, csrf, data: bytes, name: str = "faq.csv", status: int = 200):
    response = client.post("/console/api/faq/import", files={"file": (name, data)},
                           headers={"X-CSRF-Token": csrf})
    assert response.status_code == status, response.text
    return response.json()


def apply_plan(client, csrf, plan, status=200, **options):
    response = client.post("/console/api/faq/import/apply",
                           json={"plan": plan, "filename": "faq.csv", **options},
                           headers={"X-CSRF-Token": csrf})
    assert response.status_code == status, response.text
    return response.json()


def published_count(world) -> int:
    return sum(1 for k in world.console.content.base if k.startswith("faq:"))


def new_row(world, **changes) -> dict[str, str]:
    return {**NEW_ROW, "sources": a_source(world), **changes}


# ---------------------------------------------------------------- export and the round trip

@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_shows_no_change(world, editor, fmt):
    client, csrf = editor
    data = export(client, fmt)
    if fmt == "csv":
        assert data.startswith("\ufeff".encode()) and data.decode("utf-8-sig").startswith(",".join(COLUMNS))
        assert len(rows_of_csv(data)) == published_count(world)
    else:
        sheet = load_workbook(io.BytesIO(data)).active
        assert [c.value for c in sheet[1]] == list(COLUMNS) and sheet.max_row == published_count(world) + 1
    preview = upload(client, csrf, data, f"hoi-dap.{fmt}")
    assert (len(preview["new"]), len(preview["changed"]), len(preview["missing"])) == (0, 0, 0)
    assert len(preview["unchanged"]) == published_count(world)
    assert preview["plan"] == {"entries": [], "missing": []}


def test_questions_are_one_per_line_in_the_cell(world, editor):
    client, _ = editor
    key = next(k for k in world.console.content.base if k.startswith("faq:"))
    payload = world.console.content.base[key]
    row = next(r for r in rows_of_csv(export(client, "csv")) if r["id"] == payload["id"])
    assert row["questions"].split("\n") == payload["questions"]
    assert row["verified"] in ("có", "không")


# ---------------------------------------------------------------- preview and apply

def test_one_changed_and_one_new_entry_preview_exactly_those_and_apply_makes_drafts(world, editor, approver):
    client, csrf = editor
    rows = rows_of_csv(export(client, "csv"))
    changed = rows[3]
    old_answer = changed["answer"]
    changed["answer"] = old_answer + " Cập nhật từ bảng tính."
    rows.append(new_row(world))
    preview = upload(client, csrf, csv_file(rows))
    assert [i["key"] for i in preview["new"]] == [f"faq:{NEW_ID}"]
    assert preview["new"][0]["row"] == len(rows) + 1
    assert [i["key"] for i in preview["changed"]] == [f"faq:{changed['id']}"]
    assert preview["changed"][0]["changes"] == [
        {"field": "answer", "old": " ".join(old_answer.split()), "new": changed["answer"]}]
    assert len(preview["unchanged"]) == published_count(world) - 1 and preview["missing"] == []
    store = world.console.content.store
    assert store.drafts(None) == []  # a preview stores nothing

    done = apply_plan(client, csrf, preview["plan"])
    assert len(done["drafts"]) == 2 and done["published"] == [] and done["retired"] == []
    drafts = {d.entry_key: d for d in store.drafts("open")}
    assert set(drafts) == {f"faq:{changed['id']}", f"faq:{NEW_ID}"}
    assert drafts[f"faq:{changed['id']}"].payload["answer"].endswith("Cập nhật từ bảng tính.")
    assert drafts[f"faq:{NEW_ID}"].payload["questions"] == NEW_ROW["questions"].split("\n")
    assert drafts[f"faq:{NEW_ID}"].payload["updated"] == world.console.settings.today().isoformat()
    assert "Nhập từ bảng tính faq.csv" in drafts[f"faq:{NEW_ID}"].note
    assert store.latest_all() == {}  # nothing is published until an approver does it
    # the approver publishes them as usual
    approver_client, approver_csrf = approver
    for draft in drafts.values():
        response = approver_client.post(f"/console/api/drafts/{draft.id}/publish",
                                        json={"reason": "bảng tính"}, headers={"X-CSRF-Token": approver_csrf})
        assert response.status_code == 200, response.text
    kb = world.console.content.published_kb()
    assert NEW_ID in kb.faq and kb.faq[changed["id"]].answer.endswith("Cập nhật từ bảng tính.")
    # the same file again: nothing left to change
    again = upload(client, csrf, csv_file(rows))
    assert again["new"] == [] and again["changed"] == []


def test_applying_a_stale_preview_is_refused(world, editor, approver):
    client, csrf = editor
    rows = rows_of_csv(export(client, "csv"))
    rows[0]["answer"] += " Lần một."
    preview = upload(client, csrf, csv_file(rows))
    first = apply_plan(client, csrf, preview["plan"])
    approver_client, approver_csrf = approver
    approver_client.post(f"/console/api/drafts/{first['drafts'][0]}/publish", json={"reason": "thử"},
                         headers={"X-CSRF-Token": approver_csrf})
    refused = apply_plan(client, csrf, preview["plan"], status=422)
    assert "xem trước lại" in " ".join(refused["detail"]["problems"])
    assert len(world.console.content.store.drafts(None)) == 1


def test_missing_entries_are_retired_only_when_asked(world, editor):
    client, csrf = editor
    rows = rows_of_csv(export(client, "csv"))
    gone = [rows.pop(0)["id"], rows.pop(0)["id"]]
    preview = upload(client, csrf, csv_file(rows))
    assert [i["key"] for i in preview["missing"]] == [f"faq:{i}" for i in gone]
    store = world.console.content.store
    done = apply_plan(client, csrf, preview["plan"])
    assert done["drafts"] == [] and store.drafts(None) == []
    done = apply_plan(client, csrf, preview["plan"], retire_missing=True)
    assert sorted(done["retired"]) == sorted(f"faq:{i}" for i in gone)
    assert all(d.payload is None for d in store.drafts("open")) and len(store.drafts("open")) == 2


def test_an_approver_may_publish_everything_with_one_reason_an_editor_may_not(world, editor, approver):
    client, csrf = editor
    rows = [*rows_of_csv(export(client, "csv")), new_row(world)]
    plan = upload(client, csrf, csv_file(rows))["plan"]
    refused = apply_plan(client, csrf, plan, status=403, publish_reason="nhập bảng tính")
    assert "người duyệt" in refused["detail"]
    approver_client, approver_csrf = approver
    empty = apply_plan(approver_client, approver_csrf, plan, status=422, publish_reason="  ")
    assert "lý do" in " ".join(empty["detail"]["problems"])
    assert world.console.content.store.drafts(None) == []
    done = apply_plan(approver_client, approver_csrf, plan, publish_reason="nhập bảng tính tháng 11")
    assert done["published"] == [f"faq:{NEW_ID}"]
    version = world.console.content.store.latest_all()[f"faq:{NEW_ID}"]
    assert version.reason == "nhập bảng tính tháng 11" and version.published_by == "duyet"


def test_the_pages_preview_and_apply_with_the_csrf_token(world, editor):
    client, csrf = editor
    page = client.get("/console/import")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    rows = [*rows_of_csv(export(client, "csv")), new_row(world)]
    rows[1]["basis"] = rows[1]["basis"] + " (đã sửa)"
    data = xlsx_file(rows)
    no_token = client.post("/console/import", files={"file": ("faq.xlsx", data)})
    assert no_token.status_code == 403
    shown = client.post("/console/import", files={"file": ("faq.xlsx", data)}, data={"csrf_token": token})
    assert shown.status_code == 200, shown.text
    assert "1 mục mới · 1 mục thay đổi" in " ".join(shown.text.split())
    assert f"faq:{NEW_ID}" in shown.text and "(đã sửa)" in shown.text
    plan = re.search(r'name="plan" value="([^"]+)"', shown.text).group(1)
    applied = client.post("/console/import/apply", data={"csrf_token": token, "plan": html.unescape(plan),
                                                         "filename": "faq.xlsx"})
    assert applied.status_code == 200, applied.text
    assert "Đã tạo 2 bản nháp" in applied.text
    assert len(world.console.content.store.drafts("open")) == 2
    # the export links work from the page for every role
    assert client.get("/console/export?format=csv").content.startswith("\ufeff".encode())
    admin, _ = world.login("quantri")
    assert admin.get("/console/export?format=xlsx").status_code == 200
    assert 'type="file"' not in admin.get("/console/import").text  # admins export, they do not import


# ---------------------------------------------------------------- malformed files

def _bad(world, change) -> bytes:
    rows = [new_row(world)]
    result = change(rows)
    return result if isinstance(result, bytes) else csv_file(rows)


def _set(**values):
    def change(rows):
        rows[0].update(values)
    return change


MALFORMED = {
    "bad header": (lambda rows: csv_file(rows, [*COLUMNS[:3], "tra_loi", *COLUMNS[4:]]),
                   ["Dòng 1, cột D: tiêu đề không biết 'tra_loi'", "thiếu cột 'answer'"]),
    "unknown procedure": (_set(procedure="lam-ho-chieu"),
                          ["Dòng 2, cột B (procedure): mã thủ tục không có trong danh mục: 'lam-ho-chieu'"]),
    "unknown source": (_set(sources="khong-co-nguon-nay"),
                       ["Dòng 2, cột F (sources): nguồn không có trong sources.yml: 'khong-co-nguon-nay'"]),
    "bad date": (_set(valid_from="2026-02-30"), ["Dòng 2, cột G (valid_from): 'valid_from' phải là ngày"]),
    "dates out of order": (_set(valid_from="2026-07-01", valid_to="30/06/2026"),
                           ["Dòng 2, cột H (valid_to): ngày hết hiệu lực (valid_to) trước"]),
    "empty answer": (_set(answer="  "), ["Dòng 2, cột D (answer): thiếu trường bắt buộc 'answer'"]),
    "one question": (_set(questions="Chỉ một cách hỏi?"),
                     ["Dòng 2, cột C (questions): 'questions' phải có ít nhất 2 cách hỏi"]),
    "empty basis": (_set(basis=""), ["Dòng 2, cột E (basis): thiếu căn cứ pháp lý"]),
    "bad id": (_set(id="Mã Có Dấu"), ["Dòng 2, cột A (id): mã 'Mã Có Dấu' không hợp lệ"]),
    "bad verified": (_set(verified="có lẽ"), ["Dòng 2, cột I (verified): ghi \"có\" hoặc \"không\""]),
    "duplicate id": (lambda rows: rows.append(dict(rows[0])),
                     ["Dòng 3, cột A (id): mã 'nhap-thu-bang-tinh' trùng với dòng 2"]),
    "not a spreadsheet": (lambda rows: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
                          ["không phải bảng tính"]),
    "zip that is not xlsx": (lambda rows: _zip(), ["không phải bảng tính Excel (.xlsx) đọc được"]),
    "too big": (lambda rows: csv_file(rows) + b"x" * MAX_BYTES, ["Tệp quá lớn"]),
    "zip bomb": (lambda rows: _zip(b"0" * (50 * 1024 * 1024)), ["giải nén ra quá lớn"]),
    "too many rows": (lambda rows: _many_rows(rows), ["quá nhiều dòng"]),
}


def _zip(content: bytes | str = "không phải bảng tính") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", content)
    return out.getvalue()


def _many_rows(rows) -> bytes:
    return csv_file([{**rows[0], "id": f"muc-{i}"} for i in range(MAX_ROWS + 1)])


# the same bytes whatever the file's name
NOT_TABLES = ("not a spreadsheet", "zip that is not xlsx", "zip bomb", "too big")


@pytest.mark.parametrize(("case", "fmt"), [(c, "csv") for c in MALFORMED] +
                         [(c, "xlsx") for c in MALFORMED if c not in NOT_TABLES])
def test_a_malformed_file_says_where_and_stores_nothing(world, editor, case, fmt):
    client, csrf = editor
    change, expected = MALFORMED[case]
    data = _bad(world, change)
    name = "faq.csv"
    if fmt == "xlsx":  # the same table as a workbook
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        book = Workbook()
        for row in rows:
            book.active.append(row)
        out = io.BytesIO()
        book.save(out)
        data, name = out.getvalue(), "faq.xlsx"
    if case == "not a spreadsheet":
        name = "anh.png"
    refused = upload(client, csrf, data, name, status=422)
    problems = refused["detail"]["problems"]
    assert refused["detail"]["message"].startswith("Tệp chưa nhập được")
    for text in expected:
        assert any(text in p for p in problems), (text, problems)
    assert world.console.content.store.drafts(None) == []
    # the page says the same, in Vietnamese, and stores nothing either
    page = client.post("/console/import", files={"file": (name, data)}, data={"csrf_token": csrf})
    assert page.status_code == 422 and "chưa nhập được" in page.text
    assert world.console.content.store.drafts(None) == []


def test_a_csv_file_in_another_encoding_is_refused(world, editor):
    client, csrf = editor
    data = csv_file([new_row(world)]).decode("utf-8").encode("utf-16")
    problems = upload(client, csrf, data, "faq.csv", status=422)["detail"]["problems"]
    assert "UTF-8" in problems[0]


def test_every_problem_of_a_file_is_listed(world, editor):
    client, csrf = editor
    rows = [new_row(world, answer=""), new_row(world, id="muc-hai", procedure="khong-co")]
    problems = upload(client, csrf, csv_file(rows), status=422)["detail"]["problems"]
    assert any(p.startswith("Dòng 2, cột D (answer)") for p in problems)
    assert any(p.startswith("Dòng 3, cột B (procedure)") for p in problems)


# ---------------------------------------------------------------- formula injection

def test_formula_injection_is_neutralised_in_exports_and_never_evaluated_on_import(world, editor, approver):
    client, csrf = editor
    dangerous = new_row(world, answer="=HYPERLINK(\"http://ke-xau.example\",\"Bấm vào đây\")",
                        questions="+1 cách hỏi lạ\n@SUM(A1) là gì", basis="-2+3 Luật Cư trú")
    plan = upload(client, csrf, csv_file([*rows_of_csv(export(client, "csv")), dangerous]))["plan"]
    approver_client, approver_csrf = approver
    apply_plan(approver_client, approver_csrf, plan, publish_reason="thử công thức")
    assert world.console.content.published_kb().faq[NEW_ID].answer.startswith("=HYPERLINK")

    exported = rows_of_csv(export(client, "csv"))
    row = next(r for r in exported if r["id"] == NEW_ID)
    assert row["answer"].startswith("'=HYPERLINK") and row["questions"].startswith("'+1")
    assert row["basis"].startswith("'-2")
    for cells in exported:
        assert not any(v.startswith(("=", "+", "-", "@")) for v in cells.values()), cells
    data = export(client, "xlsx")
    sheet = load_workbook(io.BytesIO(data)).active  # not data_only: formulas would show as such
    assert all(cell.data_type != "f" for line in sheet.iter_rows() for cell in line)
    values = {c.value for line in sheet.iter_rows() for c in line}
    assert "'=HYPERLINK(\"http://ke-xau.example\",\"Bấm vào đây\")" in values
    # the neutralised file imports back unchanged (the apostrophe is taken off again)
    for fmt, content in (("csv", export(client, "csv")), ("xlsx", data)):
        preview = upload(client, csrf, content, f"faq.{fmt}")
        assert preview["changed"] == [] and preview["new"] == [], fmt

    # a real formula in an uploaded workbook is not evaluated: without a cached value it is empty
    book = Workbook()
    book.active.append(list(COLUMNS))
    book.active.append([new_row(world)[c] for c in COLUMNS])
    book.active["D2"] = '=CONCATENATE("Được, ","tính ra")'
    out = io.BytesIO()
    book.save(out)
    problems = upload(client, csrf, out.getvalue(), "faq.xlsx", status=422)["detail"]["problems"]
    assert any("cột D (answer)" in p for p in problems)


# ---------------------------------------------------------------- who may do what

EXPECTED = {
    ("GET", "/console/api/faq/export"): READERS,
    ("POST", "/console/api/faq/import"): EDITORS,
    ("POST", "/console/api/faq/import/apply"): EDITORS,
    ("GET", "/console/export"): READERS,
    ("GET", "/console/import"): READERS,
    ("POST", "/console/import"): EDITORS,
    ("POST", "/console/import/apply"): EDITORS,
}


def test_the_access_walk_covers_the_import_routes_with_their_roles(world):
    routes = {(m, p): roles for m, p, roles in console_routes(world.app)}
    for route, roles in EXPECTED.items():
        assert route in routes, route  # so test_every_console_route_needs_a_session_and_its_role walks it
        assert set(routes[route]) == set(roles), route


def test_without_a_session_or_as_admin_import_is_refused(world):
    data = csv_file([new_row(world)])
    anonymous = world.client()
    assert anonymous.post("/console/api/faq/import", files={"file": ("f.csv", data)}).status_code == 401
    assert anonymous.get("/console/api/faq/export").status_code == 401
    admin, csrf = world.login("quantri")
    response = admin.post("/console/api/faq/import", files={"file": ("f.csv", data)},
                          headers={"X-CSRF-Token": csrf})
    assert response.status_code == 403
    page = admin.post("/console/import/apply", data={"csrf_token": csrf, "plan": "{}"})
    assert page.status_code == 403 and "không có quyền" in page.text
    assert world.console.content.store.drafts(None) == []
