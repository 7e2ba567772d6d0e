"""Start the public-service portal sandbox (8100), the action server (5055), the outbox
worker, the FastAPI app (8000) and the Rasa server (5005); print their URLs; stop them all
on Ctrl-C. Exits non-zero, with a clear message, if a port is taken or a piece does not
come up. With PORTAL_URL set, that portal is used and no sandbox is started."""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
LOGS = ROOT / "var" / "logs"


@dataclass(frozen=True)
class Piece:
    name: str
    port: int | None  # None: a worker with no port (up when it has not exited after a moment)
    command: list[str]
    health: str | None


def pieces(model: Path, rasa_token: str, external_portal: bool = False) -> list[Piece]:
    rasa_bin = str(VENV / "rasa" / "bin" / "rasa")
    portal = [] if external_portal else [
        Piece("Cổng dịch vụ công (hộp cát)", 8100,
              [str(VENV / "services" / "bin" / "uvicorn"), "services.portal.main:app",
               "--host", "127.0.0.1", "--port", "8100"],
              "http://127.0.0.1:8100/health")]
    return portal + [
        Piece("Máy chủ hành động (action server)", 5055,
              [rasa_bin, "run", "actions", "--actions", "actions", "--port", "5055"],
              "http://127.0.0.1:5055/health"),
        Piece("Hàng đợi gửi hồ sơ (outbox)", None,
              [str(VENV / "rasa" / "bin" / "python"), "-m", "assistant.dossiers.outbox"], None),
        Piece("API FastAPI", 8000,
              [str(VENV / "services" / "bin" / "uvicorn"), "services.api.main:app",
               "--host", "127.0.0.1", "--port", "8000"],
              "http://127.0.0.1:8000/health"),
        Piece("Máy chủ Rasa", 5005,
              [rasa_bin, "run", "--enable-api", "--auth-token", rasa_token, "--interface", "127.0.0.1",
               "--port", "5005", "--model", str(model), "--endpoints", "endpoints.yml",
               "--credentials", "credentials.yml"],
              f"http://127.0.0.1:5005/status?token={rasa_token}"),
    ]


def machine_secret(name: str) -> str:
    """A secret of this machine, made once and kept in var/<name> (0600): the sandbox's
    officer token, the token of Rasa's HTTP API (which can read every conversation)."""
    path = ROOT / "var" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(24))
    return path.read_text().strip()


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_healthy(url: str | None, process: subprocess.Popen, timeout: float) -> bool:
    if url is None:  # a worker: up if it is still running after a moment
        time.sleep(1.5)
        return process.poll() is None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> int:
    model = ROOT / "models" / "current.tar.gz"
    if not model.exists():
        print("LỖI: chưa có mô hình models/current.tar.gz; chạy 'make run' để huấn luyện.", file=sys.stderr)
        return 1
    external_portal = bool(os.environ.get("PORTAL_URL"))
    rasa_token = os.environ.get("RASA_API_TOKEN") or machine_secret("rasa-api-token")
    busy = [p for p in pieces(model, rasa_token, external_portal)
            if p.port is not None and port_in_use(p.port)]
    if busy:
        for piece in busy:
            print(f"LỖI: cổng {piece.port} ({piece.name}) đang được dùng bởi chương trình khác.",
                  file=sys.stderr)
        return 1
    LOGS.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT), ACTION_SERVER_URL=os.environ.get(
        "ACTION_SERVER_URL", "http://127.0.0.1:5055/webhook"))
    env.setdefault("PORTAL_SANDBOX", "1")
    if not env.get("PORTAL_OFFICER_TOKEN"):
        env["PORTAL_OFFICER_TOKEN"] = machine_secret("portal-officer-token")
    env["RASA_API_TOKEN"] = rasa_token  # the kiosk app ends conversations through Rasa's HTTP API
    processes: list[subprocess.Popen] = []
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        for piece in pieces(model, rasa_token, external_portal):
            started = time.monotonic()
            log_name = f"{piece.port}.log" if piece.port else "outbox.log"
            log = (LOGS / log_name).open("w")
            process = subprocess.Popen(piece.command, cwd=ROOT, env=env, stdout=log,
                                       stderr=subprocess.STDOUT)
            processes.append(process)
            if not wait_healthy(piece.health, process, timeout=float(os.environ.get("START_TIMEOUT", "240"))):
                print(f"LỖI: {piece.name} không khởi động được (xem {LOGS / log_name}).", file=sys.stderr)
                stop(processes)
                return 1
            where = f"http://127.0.0.1:{piece.port}" if piece.port else f"nhật ký {LOGS / log_name}"
            print(f"✓ {piece.name}: {where} ({time.monotonic() - started:.1f} s)", flush=True)
        print("Trợ lý 06 đang chạy. Màn hình hỏi đáp (kiosk): http://127.0.0.1:8000/ · "
              "REST: POST http://127.0.0.1:5005/webhooks/rest/webhook · "
              "API: http://127.0.0.1:8000/docs · Cổng DVC (hộp cát): http://127.0.0.1:8100/docs · "
              "Ctrl-C để dừng.", flush=True)
        while all(p.poll() is None for p in processes):
            time.sleep(1)
        print("LỖI: một thành phần đã dừng bất ngờ; dừng tất cả.", file=sys.stderr)
        stop(processes)
        return 1
    except KeyboardInterrupt:
        print("\nĐang dừng…", flush=True)
        stop(processes)
        return 0


if __name__ == "__main__":
    sys.exit(main())
