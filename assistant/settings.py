"""All settings in one place, read from the environment (with defaults for a kiosk PC)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE_BASE_DIR = Path(os.environ.get("KB_DIR", PROJECT_ROOT / "knowledge_base"))
DATA_DIR = Path(os.environ.get("TROLY_DATA_DIR", PROJECT_ROOT / "var"))


@dataclass(frozen=True)
class Settings:
    knowledge_base_dir: Path
    data_dir: Path
    unanswered_db: Path
    stats_db: Path            # what was asked and how it went, no text (assistant/stats.py, the dashboard)
    today_override: date | None
    max_message_chars: int
    rasa_url: str
    action_server_url: str
    api_url: str
    embedding_model: str      # a local sentence-transformers directory, or a hub name where reachable
    embedding_base_model: str  # e5 as converted, before fine-tuning (the fine-tuning's start, a baseline)
    query_threads: int        # torch threads per query once the search is loaded (see encoder.py)
    kb_index_dir: Path        # FAISS index and its manifest (built by `make kb-index`)
    search_tuning_file: Path  # ranking weights and answer thresholds (bench/kb_calibrate.py)
    nlu_data_dir: Path        # NLU training examples (the search's diacritic restorer learns from them)
    portal_url: str           # the public-service portal's API (the sandbox in services/portal by default)
    portal_client_key: str | None  # the kiosk's key for the portal (header X-Client-Key); unset: none
    portal_timeout_s: float   # per attempt
    portal_attempts: int      # tries on 5xx and network errors (never on 4xx)
    portal_backoff_s: float   # first wait between tries, doubled each time
    portal_database_url: str  # the sandbox's storage: SQLite file by default, PostgreSQL by URL
    portal_sandbox: bool      # PORTAL_SANDBOX=1: the demo routes under /sandbox exist
    portal_officer_token: str | None  # officers' bearer token; unset: no officer can act
    portal_token_minutes: int  # lifetime of a citizen's login token
    portal_slot_capacity: int  # citizens per half-day appointment slot at a commune police
    outbox_db: Path           # confirmed dossiers waiting for the portal (assistant/dossiers/outbox.py)
    outbox_interval_s: float  # how often the outbox worker retries
    rasa_api_token: str | None  # token of Rasa's HTTP API (scripts/run.py makes one per machine)
    kiosk_idle_s: float       # the kiosk ends a citizen's session after this long without input
    kiosk_warning_s: float    # ... after warning on screen for this long before the end
    kiosk_max_sessions: int   # open kiosk sessions one FastAPI process keeps (oldest idle dropped)
    content_db: Path          # officers' published versions and drafts over knowledge_base/ (store.py)
    console_db: Path          # officers' accounts and login sessions (services/console)
    console_idle_s: float     # a console session ends after this long without a request...
    console_session_max_s: float  # ...and this long after login in any case
    console_lockout_failures: int  # failed logins in a row that lock an account...
    console_lockout_s: float  # ...for this long
    console_cookie_secure: bool  # CONSOLE_COOKIE_SECURE=1 behind HTTPS: the session cookie gets `Secure`
    kb_watch_interval_s: float  # how often the search service and the action server look for a publish

    def today(self) -> date:
        """Today's date for fee validity; TROLY_TODAY=YYYY-MM-DD fixes it (tests, demos)."""
        return self.today_override or date.today()


def load_settings() -> Settings:
    override = os.environ.get("TROLY_TODAY")
    data_dir = DATA_DIR
    return Settings(
        knowledge_base_dir=KNOWLEDGE_BASE_DIR,
        data_dir=data_dir,
        unanswered_db=Path(os.environ.get("UNANSWERED_DB", data_dir / "unanswered.sqlite3")),
        stats_db=Path(os.environ.get("STATS_DB", data_dir / "stats.sqlite3")),
        today_override=date.fromisoformat(override) if override else None,
        max_message_chars=int(os.environ.get("MAX_MESSAGE_CHARS", "1000")),
        rasa_url=os.environ.get("RASA_URL", "http://127.0.0.1:5005"),
        action_server_url=os.environ.get("ACTION_SERVER_URL", "http://127.0.0.1:5055/webhook"),
        api_url=os.environ.get("API_URL", "http://127.0.0.1:8000"),
        embedding_model=os.environ.get("EMBEDDING_MODEL", str(PROJECT_ROOT / "models" / "e5-vi")),
        embedding_base_model=os.environ.get("EMBEDDING_BASE_MODEL",
                                            str(PROJECT_ROOT / "models" / "e5-small-st")),
        query_threads=int(os.environ.get("QUERY_THREADS", "1")),
        kb_index_dir=Path(os.environ.get("KB_INDEX_DIR", PROJECT_ROOT / "models" / "kb-index")),
        search_tuning_file=KNOWLEDGE_BASE_DIR / "search.yml",
        nlu_data_dir=PROJECT_ROOT / "nlu_data",
        portal_url=os.environ.get("PORTAL_URL", "http://127.0.0.1:8100"),
        portal_client_key=os.environ.get("PORTAL_CLIENT_KEY") or None,
        portal_timeout_s=float(os.environ.get("PORTAL_TIMEOUT_S", "5")),
        portal_attempts=int(os.environ.get("PORTAL_ATTEMPTS", "3")),
        portal_backoff_s=float(os.environ.get("PORTAL_BACKOFF_S", "0.3")),
        portal_database_url=os.environ.get("PORTAL_DATABASE_URL", f"sqlite:///{data_dir / 'portal.sqlite3'}"),
        portal_sandbox=os.environ.get("PORTAL_SANDBOX", "0").lower() in ("1", "true", "yes"),
        portal_officer_token=os.environ.get("PORTAL_OFFICER_TOKEN") or None,
        portal_token_minutes=int(os.environ.get("PORTAL_TOKEN_MINUTES", "15")),
        portal_slot_capacity=int(os.environ.get("PORTAL_SLOT_CAPACITY", "10")),
        outbox_db=Path(os.environ.get("OUTBOX_DB", data_dir / "outbox.sqlite3")),
        outbox_interval_s=float(os.environ.get("OUTBOX_INTERVAL_S", "10")),
        rasa_api_token=os.environ.get("RASA_API_TOKEN") or None,
        kiosk_idle_s=max(30.0, float(os.environ.get("KIOSK_IDLE_S", "180"))),
        kiosk_warning_s=max(5.0, float(os.environ.get("KIOSK_WARNING_S", "30"))),
        kiosk_max_sessions=int(os.environ.get("KIOSK_MAX_SESSIONS", "200")),
        content_db=Path(os.environ.get("CONTENT_DB", data_dir / "content.sqlite3")),
        console_db=Path(os.environ.get("CONSOLE_DB", data_dir / "console.sqlite3")),
        console_idle_s=float(os.environ.get("CONSOLE_IDLE_S", "1800")),
        console_session_max_s=float(os.environ.get("CONSOLE_SESSION_MAX_S", "28800")),
        console_lockout_failures=max(1, int(os.environ.get("CONSOLE_LOCKOUT_FAILURES", "5"))),
        console_lockout_s=float(os.environ.get("CONSOLE_LOCKOUT_S", "900")),
        console_cookie_secure=os.environ.get("CONSOLE_COOKIE_SECURE", "0").lower() in ("1", "true", "yes"),
        kb_watch_interval_s=max(0.2, float(os.environ.get("KB_WATCH_INTERVAL_S", "1"))),
    )
