"""Live updates of the search, measured: `python bench/kb_live.py [--no-full]` (services venv).

Starts the FastAPI app (uvicorn, port 8011) over a temporary content store and a copy of
`models/kb-index`, then
  1. the latency of `/api/kb/search` queries issued one after another with no change (baseline);
  2. the same loop while content is published (a new FAQ entry, an edit of it, its retirement),
     each time the seconds from the publish to the first answer from the new content, and the
     latency of the queries issued meanwhile (the rebuild and swap happen in the server);
  3. rows embedded by each incremental rebuild (from the server's log) against a full rebuild
     of the same content (timed here, in this process, unless --no-full).
Prints the figures; nothing is written in var/ or models/.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.knowledge.store import ContentStore  # noqa: E402

PORT = 8011
API = f"http://127.0.0.1:{PORT}"
ENTRY = "faq:bench-lich-tiep-dan"
QUESTION = "Sáng thứ bảy công an xã có làm việc không ạ"
OTHER_QUESTIONS = ["lệ phí đăng ký tạm trú bao nhiêu", "làm căn cước cho trẻ em ở đâu",
                   "tách hộ cần giấy tờ gì", "dang ky thuong tru mat bao lau"]
PAYLOAD = {"id": ENTRY[4:], "questions": [QUESTION, "thu bay cong an xa co lam viec khong"],
           "answer": "Dạ, Công an xã tiếp dân sáng thứ Bảy từ 7 giờ 30 đến 11 giờ 30 (thông báo 17/TB-CAX).",
           "basis": "Thông báo số 17/TB-CAX", "sources": ["KONTUM-46"], "updated": "2026-11-20"}
BUILT = re.compile(r"search built for content generation (\d+): (\d+) rows, (\d+) embedded \(([\d.]+) s\), "
                   r"([\d.]+) s in all")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(values_s: list[float]) -> str:
    ms = [v * 1000 for v in values_s]
    return (f"n={len(ms)} p50={statistics.median(ms):.1f} ms p95={pct(ms, 0.95):.1f} ms "
            f"max={max(ms):.1f} ms")


def query(q: str) -> tuple[float, list[dict]]:
    started = time.perf_counter()
    response = requests.get(f"{API}/api/kb/search", params={"q": q, "k": 3}, timeout=30)
    response.raise_for_status()
    return time.perf_counter() - started, response.json()


def baseline(n: int) -> list[float]:
    return [query(([QUESTION] + OTHER_QUESTIONS)[i % 5])[0] for i in range(n)]


def during_publish(store: ContentStore, payload, expect: str | None, settle_s: float = 1.0):
    """Publish, then query in a loop until the answer for QUESTION comes from the new content
    (`expect`: the answer text's mark, or None for "the entry is gone"), and settle_s more."""
    draft = store.create_draft(ENTRY, payload, "bench")
    started = time.perf_counter()
    store.publish_draft(draft.id, "bench-approver", "bench")
    latencies: list[float] = []
    seen_at = None
    i = 0
    while time.perf_counter() - started < 30:
        q = ([QUESTION] + OTHER_QUESTIONS)[i % 5]
        i += 1
        elapsed, hits = query(q)
        latencies.append(elapsed)
        if q == QUESTION and seen_at is None:
            top = hits[0] if hits else {}
            new = (expect in top.get("text", "")) if expect else all(h["faq_id"] != ENTRY[4:] for h in hits)
            if new:
                seen_at = time.perf_counter() - started
        if seen_at is not None and time.perf_counter() - started > seen_at + settle_s:
            break
    if seen_at is None:
        raise SystemExit("the new content was not served within 30 s")
    return seen_at, latencies


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-full", action="store_true", help="skip timing a full rebuild")
    parser.add_argument("--n", type=int, default=200, help="baseline queries")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kb-live-bench-"))
    shutil.copytree(ROOT / "models" / "kb-index", work / "kb-index")
    log_path = work / "api.log"
    env = dict(os.environ, PYTHONPATH=str(ROOT), CONTENT_DB=str(work / "content.sqlite3"),
               CONSOLE_DB=str(work / "console.sqlite3"), KB_INDEX_DIR=str(work / "kb-index"),
               UNANSWERED_DB=str(work / "unanswered.sqlite3"), STATS_DB=str(work / "stats.sqlite3"),
               KB_WATCH_INTERVAL_S=os.environ.get("KB_WATCH_INTERVAL_S", "1"))
    with open(log_path, "w") as log:
        command = [str(ROOT / ".venv" / "services" / "bin" / "uvicorn"), "services.api.main:app",
                   "--host", "127.0.0.1", "--port", str(PORT), "--log-level", "info", "--no-access-log"]
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{API}/health", timeout=2).json().get("search") == "ready":
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit("the API's search did not become ready:\n" + log_path.read_text())
        for q in OTHER_QUESTIONS * 3:  # warm up
            query(q)
        store = ContentStore(work / "content.sqlite3")
        base = baseline(args.n)
        print(f"search latency, no swap:        {summary(base)}")
        runs = [("new entry", PAYLOAD, "17/TB-CAX"),
                ("edited entry", {**PAYLOAD, "answer": PAYLOAD["answer"].replace("11 giờ 30", "11 giờ")
                                  + " Thông báo sửa đổi 18/TB-CAX."}, "18/TB-CAX"),
                ("retired entry", None, None)]
        swap_latencies: list[float] = []
        for label, payload, mark in runs:
            seen, latencies = during_publish(store, payload, mark)
            swap_latencies += latencies
            print(f"{label:14s} publish -> answered from new content in {seen:.2f} s; "
                  f"queries meanwhile: {summary(latencies)}")
        print(f"search latency, during swaps:   {summary(swap_latencies)}")
        time.sleep(1)
        log_text = log_path.read_text()
        if "helper process failed" in log_text:
            print("WARNING: the helper process failed; the rebuilds ran in the server process")
        builds = [m.groups() for m in BUILT.finditer(log_text)]
        for generation, rows, embedded, embed_s, total_s in builds:
            print(f"rebuild for generation {generation}: {embedded} of {rows} rows embedded in {embed_s} s, "
                  f"{total_s} s in all")
    finally:
        server.terminate()
        server.wait(timeout=30)
    if not args.no_full:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from assistant.embeddings.encoder import SentenceTransformerEncoder
        from assistant.knowledge.live import build_search
        from assistant.knowledge.search import SearchTuning
        from assistant.knowledge.store import PublishedContent
        from assistant.settings import load_settings

        settings = load_settings()
        encoder = SentenceTransformerEncoder(settings.embedding_model)
        generation, kb = PublishedContent(settings.knowledge_base_dir, work / "content.sqlite3").load()
        _, report = build_search(kb, encoder, SearchTuning.load(settings.search_tuning_file),
                                 settings.nlu_data_dir, {}, generation)
        print(f"full rebuild: {report.embedded} of {report.rows} rows embedded in "
              f"{report.embed_seconds:.1f} s, {report.seconds:.1f} s in all")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
