"""Starts the real system (scripts/run.py: Rasa server, action server, FastAPI app, portal
sandbox) once, with its data in a temporary folder."""
import os
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def system(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    unanswered = data / "unanswered.sqlite3"
    env = dict(os.environ, TROLY_TODAY="2026-11-22", UNANSWERED_DB=str(unanswered),
               PORTAL_DATABASE_URL=f"sqlite:///{data / 'portal.sqlite3'}")
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
    yield {"unanswered": unanswered, "output": lines}
    process.terminate()
    process.wait(timeout=60)


def ask(sender: str, text: str) -> list[dict]:
    response = requests.post("http://127.0.0.1:5005/webhooks/rest/webhook",
                             json={"sender": sender, "message": text}, timeout=60)
    response.raise_for_status()
    return response.json()


def reply_text(messages: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages)
