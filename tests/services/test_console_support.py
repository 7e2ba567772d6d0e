"""Shared set-up for the console tests (imported by the other test_console_* modules): a
console on temporary databases over a copy of the knowledge base, an injected clock, a cheap
argon2 hasher; plus the tests of the `create_officer` command."""
from __future__ import annotations

import dataclasses
import io
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.settings import KNOWLEDGE_BASE_DIR, Settings, load_settings
from services.console import create_officer
from services.console.accounts import Accounts
from services.console.auth import Console
from services.console.routes import install

PASSWORD = "mat-khau-rat-dai-2026"
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # argon2id, test speed


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="session")
def kb_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The knowledge base as it is now, copied once: the console reads it as version 0."""
    target = tmp_path_factory.mktemp("kb") / "knowledge_base"
    shutil.copytree(KNOWLEDGE_BASE_DIR, target)
    return target


def console_settings(tmp_path: Path, kb_dir: Path, **changes: Any) -> Settings:
    settings = load_settings()
    return dataclasses.replace(settings, knowledge_base_dir=kb_dir, search_tuning_file=kb_dir / "search.yml",
                               content_db=tmp_path / "content.sqlite3",
                               console_db=tmp_path / "console.sqlite3", **changes)


def make_app(console: Console, search: Any = None) -> FastAPI:
    app = FastAPI()
    install(app)
    app.state.console = console
    app.state.search = SimpleNamespace(search=search, status="ready" if search else "loading")
    return app


@dataclasses.dataclass
class World:
    console: Console
    clock: Clock
    app: FastAPI

    def client(self) -> TestClient:
        return TestClient(self.app, base_url="http://testserver")

    def officer(self, username: str, role: str) -> None:
        self.console.accounts.create(username, PASSWORD, role, "test")

    def login(self, username: str, password: str = PASSWORD) -> tuple[TestClient, str]:
        """A client logged in as `username` and its CSRF token."""
        client = self.client()
        response = client.post("/console/api/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return client, response.json()["csrf_token"]


def make_world(tmp_path: Path, kb_dir: Path, search: Any = None) -> World:
    clock = Clock()
    console = Console.create(console_settings(tmp_path, kb_dir), clock, CHEAP_HASHER)
    world = World(console, clock, make_app(console, search))
    for username, role in (("bientap", "editor"), ("duyet", "approver"), ("quantri", "admin")):
        world.officer(username, role)
    return world


# ---------------------------------------------------------------- the create_officer command

def test_create_officer_reads_the_password_from_stdin(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CONSOLE_DB", str(tmp_path / "console.sqlite3"))
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert create_officer.main(["--username", "Admin1", "--role", "admin"]) == 0
    assert "admin1" in capsys.readouterr().out
    accounts = Accounts(tmp_path / "console.sqlite3")
    assert accounts.get("admin1").role == "admin"
    assert accounts.login("admin1", PASSWORD) is not None
    # the password is stored only as an argon2id hash
    raw = (tmp_path / "console.sqlite3").read_bytes()
    assert PASSWORD.encode() not in raw and b"$argon2id$" in raw


def test_create_officer_refuses_short_passwords_and_taken_names(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CONSOLE_DB", str(tmp_path / "console.sqlite3"))
    monkeypatch.setattr("sys.stdin", io.StringIO("ngan-qua\n"))
    assert create_officer.main(["--username", "admin1"]) == 1
    assert "ít nhất 12 ký tự" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert create_officer.main(["--username", "admin1"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert create_officer.main(["--username", "ADMIN1", "--role", "editor"]) == 1
    assert "đã có người dùng" in capsys.readouterr().err
