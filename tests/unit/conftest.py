"""Unit tests never write the assistant's real logs in var/: the unanswered-question inbox and
the stats log go to a temporary folder (set before any test loads the settings)."""
from __future__ import annotations

import os
import tempfile

_LOGS = tempfile.mkdtemp(prefix="troly-unit-logs-")
os.environ.setdefault("UNANSWERED_DB", os.path.join(_LOGS, "unanswered.sqlite3"))
os.environ.setdefault("STATS_DB", os.path.join(_LOGS, "stats.sqlite3"))
