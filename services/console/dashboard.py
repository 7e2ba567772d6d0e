"""The officers' dashboard over the last 30 days (days in Vietnam's time, ending at
Settings.today()): questions per day by channel, top procedures asked, share answered,
unanswered rate per day, dossiers submitted per procedure.

Sources, none with personal data:
- the action server's stats log (assistant/stats.py): one row per question answered, offered
  choices, not answered, or fallen back, without text; and one per dossier submitted
  directly to the portal;
- the outbox (assistant/dossiers/outbox.py), opened read-only: dossiers that waited there
  while the portal was down count on the day they were confirmed, once sent (`submitted`).
  A dossier goes either directly or through the outbox, never both, so none counts twice.

The charts are inline SVG drawn here (geometry only, rendered by templates/dashboard.html):
no script, no style attribute (the console's CSP allows neither), colours from classes in
console.css; every chart has its numbers in a table next to it.
"""
from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from assistant.stats import LOCAL_OFFSET, OUTCOMES, StatsLog

DAYS = 30
CHANNELS = ("kiosk", "rest", "zalo", "facebook")
CHANNEL_NAMES = {"kiosk": "Kiosk", "rest": "Web (REST)", "zalo": "Zalo", "facebook": "Messenger"}
OUTCOME_NAMES = {"answered": "Đã trả lời", "choices": "Đưa lựa chọn", "unknown": "Không trả lời được",
                 "fallback": "Không hiểu (dừng hội thoại)"}
TOP = 10


@dataclass
class Dashboard:
    first: date
    last: date
    days: list[str]
    channels: list[str]
    per_day: dict[str, dict[str, int]]          # day -> channel -> questions
    outcomes: dict[str, int]                     # outcome -> questions over the period
    unanswered_per_day: dict[str, tuple[int, int]]  # day -> (unknown + fallback, all)
    procedures: list[tuple[str, str, int]]       # (id, name, questions), most asked first
    dossiers: list[tuple[str, str, int]]         # (id, name, dossiers submitted), most first
    total: int = 0
    charts: dict[str, Any] = field(default_factory=dict)

    @property
    def answered_share(self) -> float | None:
        return self.outcomes.get("answered", 0) / self.total if self.total else None

    def as_json(self) -> dict[str, Any]:
        return {
            "first": self.first.isoformat(), "last": self.last.isoformat(), "total": self.total,
            "answered_share": self.answered_share,
            "questions_per_day": [{"day": d, **{c: self.per_day[d].get(c, 0) for c in self.channels}}
                                  for d in self.days],
            "outcomes": self.outcomes,
            "unanswered_rate": [{"day": d, "unanswered": u, "questions": n,
                                 "rate": (u / n if n else None)}
                                for d, (u, n) in self.unanswered_per_day.items()],
            "top_procedures": [{"procedure": p, "name": n, "questions": c} for p, n, c in self.procedures],
            "dossiers_per_procedure": [{"procedure": p, "name": n, "dossiers": c}
                                       for p, n, c in self.dossiers],
        }


def outbox_submitted(path: Path, first: date, last: date) -> list[tuple[str, str, int]]:
    """(local day, procedure id, count) of outbox entries sent to the portal, read-only."""
    if not path.exists():
        return []
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        try:
            rows = db.execute(
                f"SELECT date(created_at, '{LOCAL_OFFSET}') AS day, procedure_id, COUNT(*) FROM outbox "
                "WHERE status = 'submitted' GROUP BY day, procedure_id").fetchall()
        except sqlite3.OperationalError:  # no outbox table yet
            return []
    return [(d, p, n) for d, p, n in rows if d and first.isoformat() <= d <= last.isoformat()]


def build(stats_db: Path, outbox_db: Path, today: date, names: dict[str, str], days: int = DAYS) -> Dashboard:
    last = today
    first = last - timedelta(days=days - 1)
    day_list = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    log = StatsLog(stats_db)
    per_day: dict[str, Counter] = {d: Counter() for d in day_list}
    outcomes: Counter = Counter()
    unanswered: dict[str, list[int]] = {d: [0, 0] for d in day_list}
    asked: Counter = Counter()
    channels_seen: set[str] = set()
    for day, channel, procedure, outcome, count in log.daily(first, last):
        if day not in per_day:
            continue
        per_day[day][channel] += count
        channels_seen.add(channel)
        outcomes[outcome] += count
        unanswered[day][1] += count
        if outcome in ("unknown", "fallback"):
            unanswered[day][0] += count
        if procedure:
            asked[procedure] += count
    dossiers: Counter = Counter()
    for day, _, procedure, outcome, count in log.daily(first, last, kind="dossier"):
        if outcome == "submitted":
            dossiers[procedure] += count
    for _, procedure, count in outbox_submitted(outbox_db, first, last):
        dossiers[procedure] += count
    channels = [c for c in CHANNELS if c in channels_seen] + sorted(channels_seen - set(CHANNELS))
    board = Dashboard(
        first=first, last=last, days=day_list, channels=channels or list(CHANNELS),
        per_day={d: dict(c) for d, c in per_day.items()},
        outcomes={o: outcomes.get(o, 0) for o in OUTCOMES},
        unanswered_per_day={d: (u, n) for d, (u, n) in unanswered.items()},
        procedures=[(p, names.get(p, p), n) for p, n in asked.most_common(TOP)],
        dossiers=[(p, names.get(p, p), n) for p, n in dossiers.most_common()],
        total=sum(outcomes.values()))
    board.charts = charts(board)
    return board


# ---------------------------------------------------------------- chart geometry

WIDTH, HEIGHT, LEFT, BOTTOM, TOP_PAD = 720, 240, 40, 30, 10


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4
    return value


def charts(board: Dashboard) -> dict[str, Any]:
    return {"per_day": _stacked_days(board), "rate": _rate_line(board),
            "procedures": _hbars([(n, c) for _, n, c in board.procedures]),
            "dossiers": _hbars([(n, c) for _, n, c in board.dossiers]),
            "outcomes": _share_bar(board)}


def _stacked_days(board: Dashboard) -> dict[str, Any]:
    totals = [sum(board.per_day[d].values()) for d in board.days]
    top = _nice_max(max(totals, default=0) or 1)
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - BOTTOM - TOP_PAD
    slot = plot_w / len(board.days)
    bars = []
    for i, day in enumerate(board.days):
        y = TOP_PAD + plot_h
        for channel in board.channels:
            value = board.per_day[day].get(channel, 0)
            if not value:
                continue
            h = plot_h * value / top
            y -= h
            bars.append({"x": round(LEFT + i * slot + 1, 1), "y": round(y, 1), "w": round(slot - 2, 1),
                         "h": round(h, 1), "cls": f"ch-{channel}" if channel in CHANNELS else "ch-other",
                         "title": f"{day} · {CHANNEL_NAMES.get(channel, channel)}: {value}"})
    labels = [{"x": round(LEFT + i * slot + slot / 2, 1), "text": day[8:10] + "/" + day[5:7]}
              for i, day in enumerate(board.days) if i % 5 == 0 or i == len(board.days) - 1]
    return {"width": WIDTH, "height": HEIGHT, "bars": bars, "labels": labels, "axis": _axis(top, plot_h),
            "baseline": TOP_PAD + plot_h, "left": LEFT, "right": WIDTH - 10}


def _axis(top: int, plot_h: float, percent: bool = False) -> list[dict[str, Any]]:
    return [{"y": round(TOP_PAD + plot_h - plot_h * k / 4, 1),
             "text": f"{round(100 * k / 4)}%" if percent else str(top * k // 4)} for k in range(5)]


def _rate_line(board: Dashboard) -> dict[str, Any]:
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - BOTTOM - TOP_PAD
    slot = plot_w / len(board.days)
    points = []
    for i, day in enumerate(board.days):
        unanswered, total = board.unanswered_per_day[day]
        if total:
            rate = unanswered / total
            points.append({"x": round(LEFT + i * slot + slot / 2, 1),
                           "y": round(TOP_PAD + plot_h * (1 - rate), 1),
                           "title": f"{day}: {round(100 * rate)}% ({unanswered}/{total})"})
    labels = [{"x": round(LEFT + i * slot + slot / 2, 1), "text": day[8:10] + "/" + day[5:7]}
              for i, day in enumerate(board.days) if i % 5 == 0 or i == len(board.days) - 1]
    return {"width": WIDTH, "height": HEIGHT, "points": points,
            "polyline": " ".join(f"{p['x']},{p['y']}" for p in points), "labels": labels,
            "axis": _axis(100, plot_h, percent=True), "baseline": TOP_PAD + plot_h, "left": LEFT,
            "right": WIDTH - 10}


def _hbars(items: list[tuple[str, int]]) -> dict[str, Any]:
    row, label_w = 26, 300
    top = max((c for _, c in items), default=0) or 1
    bars = [{"y": i * row + 4, "w": round((WIDTH - label_w - 60) * c / top, 1), "label": name[:48],
             "value": c, "ty": i * row + 18} for i, (name, c) in enumerate(items)]
    return {"width": WIDTH, "height": max(len(items), 1) * row + 8, "bars": bars, "x": label_w}


def _share_bar(board: Dashboard) -> dict[str, Any]:
    parts, x = [], 0.0
    for outcome in OUTCOMES:
        value = board.outcomes.get(outcome, 0)
        if not value or not board.total:
            continue
        w = (WIDTH - 2) * value / board.total
        parts.append({"x": round(1 + x, 1), "w": round(w, 1), "cls": f"out-{outcome}",
                      "title": f"{OUTCOME_NAMES[outcome]}: {value} ({round(100 * value / board.total)}%)"})
        x += w
    return {"width": WIDTH, "height": 40, "parts": parts}
