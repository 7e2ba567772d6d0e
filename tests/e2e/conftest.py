"""Starts the real system once, with its data in a temporary folder: the portal sandbox
as its own process (so a test can stop and restart it, as a real portal outage), then
scripts/run.py pointed at it (Rasa server, action server, outbox worker, FastAPI app).
The officers' content store, their accounts (one approver, `CONSOLE_OFFICER`) and a copy of
the search index are in that folder too, so that publishing in a test changes nothing in var/
or models/."""
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
PORTAL = "http://127.0.0.1:8100"
OFFICER_TOKEN = "e2e-officer-token-0123456789"
RASA_API_TOKEN = "e2e-rasa-api-token-0123456789"
CONSOLE_OFFICER = ("duyet-e2e", "mat-khau-e2e-rat-dai-2026")  # an approver
BROWSER_OFFICER = ("duyet-trinh-duyet", "mat-khau-trinh-duyet-2026")  # an approver of `console_app`


class PortalProcess:
    """The sandbox portal on 8100 over one SQLite file, which survives a stop."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(ROOT / ".venv" / "services" / "bin" / "uvicorn"), "services.portal.main:app",
             "--host", "127.0.0.1", "--port", "8100"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{PORTAL}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.3)
        raise RuntimeError("the portal sandbox did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


@pytest.fixture(scope="session")
def portal(tmp_path_factory):
    data = tmp_path_factory.mktemp("portal")
    process = PortalProcess(dict(os.environ, PYTHONPATH=str(ROOT), PORTAL_SANDBOX="1",
                                 PORTAL_OFFICER_TOKEN=OFFICER_TOKEN,
                                 PORTAL_DATABASE_URL=f"sqlite:///{data / 'portal.sqlite3'}"))
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def system(tmp_path_factory, portal):
    data = tmp_path_factory.mktemp("data")
    unanswered = data / "unanswered.sqlite3"
    index = data / "kb-index"
    if (ROOT / "models" / "kb-index").is_dir():  # reused where it matches; the rest is embedded
        shutil.copytree(ROOT / "models" / "kb-index", index)
    env = dict(os.environ, TROLY_TODAY="2026-11-22", UNANSWERED_DB=str(unanswered),
               PORTAL_URL=PORTAL, PORTAL_OFFICER_TOKEN=OFFICER_TOKEN, OUTBOX_DB=str(data / "outbox.sqlite3"),
               OUTBOX_INTERVAL_S="1", PORTAL_ATTEMPTS="2", PORTAL_BACKOFF_S="0.2",
               RASA_API_TOKEN=RASA_API_TOKEN, CONTENT_DB=str(data / "content.sqlite3"),
               CONSOLE_DB=str(data / "console.sqlite3"), KB_INDEX_DIR=str(index), KB_WATCH_INTERVAL_S="1",
               STATS_DB=str(data / "stats.sqlite3"))
    username, password = CONSOLE_OFFICER
    subprocess.run([str(ROOT / ".venv" / "services" / "bin" / "python"), "-m",
                    "services.console.create_officer", "--username", username, "--role", "approver"],
                   cwd=ROOT, env=dict(env, PYTHONPATH=str(ROOT)), input=password + "\n", text=True,
                   check=True, capture_output=True)
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "services" / "bin" / "python"), "scripts/run.py"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines = []
    deadline = time.monotonic() + 420
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "đang chạy" in line:
            break
    else:
        process.kill()
        pytest.fail("system did not start:\n" + "".join(lines))
    if process.poll() is not None:
        pytest.fail("system did not start:\n" + "".join(lines))
    yield {"unanswered": unanswered, "output": lines, "content_db": data / "content.sqlite3"}
    process.terminate()
    process.wait(timeout=60)


def ask(sender: str, text: str) -> list[dict]:
    response = requests.post("http://127.0.0.1:5005/webhooks/rest/webhook",
                             json={"sender": sender, "message": text}, timeout=60)
    response.raise_for_status()
    return response.json()


def reply_text(messages: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def console_app(tmp_path_factory):
    """Only the FastAPI app (uvicorn, services env) on a free port, every database of it in a
    temporary folder (TROLY_DATA_DIR, CONTENT_DB, CONSOLE_DB, STATS_DB, UNANSWERED_DB, OUTBOX_DB),
    a copy of the search index, and one approver account, `BROWSER_OFFICER`. No Rasa, no portal."""
    data = tmp_path_factory.mktemp("console-app")
    index = data / "kb-index"
    if (ROOT / "models" / "kb-index").is_dir():
        shutil.copytree(ROOT / "models" / "kb-index", index)
    env = dict(os.environ, PYTHONPATH=str(ROOT), TROLY_TODAY="2026-11-22", TROLY_DATA_DIR=str(data),
               CONTENT_DB=str(data / "content.sqlite3"), CONSOLE_DB=str(data / "console.sqlite3"),
               STATS_DB=str(data / "stats.sqlite3"), UNANSWERED_DB=str(data / "unanswered.sqlite3"),
               OUTBOX_DB=str(data / "outbox.sqlite3"), KB_INDEX_DIR=str(index), KB_WATCH_INTERVAL_S="1")
    username, password = BROWSER_OFFICER
    subprocess.run([str(ROOT / ".venv" / "services" / "bin" / "python"), "-m",
                    "services.console.create_officer", "--username", username, "--role", "approver"],
                   cwd=ROOT, env=env, input=password + "\n", text=True, check=True, capture_output=True)
    port = free_port()
    log = (data / "app.log").open("w")
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "services" / "bin" / "python"), "-m", "uvicorn", "services.api.main:app",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                if requests.get(f"{url}/console/login", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the FastAPI app did not start:\n" + (data / "app.log").read_text())
            time.sleep(0.3)
        yield {"url": url, "content_db": data / "content.sqlite3", "log": data / "app.log"}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
