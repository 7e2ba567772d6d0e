"""Access-log lines without personal data or secrets.

Query strings are dropped (`/sandbox/otp?id_number=…` names a citizen), and long opaque
path segments are shortened: a QR session id in `/api/auth/qr/<id>` lets whoever reads it
collect a login until it expires.
"""
from __future__ import annotations

import logging
import re

_OPAQUE_SEGMENT = re.compile(r"/[A-Za-z0-9_\-]{20,}")


def scrub_path(path: str) -> str:
    path, has_query, _ = path.partition("?")
    return _OPAQUE_SEGMENT.sub("/…", path) + ("?…" if has_query else "")


class ScrubAccessLog(logging.Filter):
    """For uvicorn's access logger, whose record args are (client, method, path, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], scrub_path(args[2]), *args[3:])
        return True


def install() -> None:
    """Adds the filter to uvicorn's access logger once, however many apps are created."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, ScrubAccessLog) for f in logger.filters):
        logger.addFilter(ScrubAccessLog())
