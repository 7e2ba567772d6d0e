import contextlib
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_port_in_use_stops_the_start_with_a_clear_message():
    with contextlib.ExitStack() as stack:
        blocker = stack.enter_context(socket.socket())
        try:  # the port may already be held by the system the other e2e tests started
            blocker.bind(("127.0.0.1", 5055))
            blocker.listen()
        except OSError:
            pass
        result = subprocess.run([str(ROOT / ".venv/services/bin/python"), "scripts/run.py"],
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "cổng 5055" in result.stderr
