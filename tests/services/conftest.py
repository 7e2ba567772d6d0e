"""Fixtures shared by the officers' console tests: a console over a copy of the knowledge
base with three officers (`world`), and an editor's and an approver's logged-in client
with their CSRF token. A test module may define its own `world` (the inbox and dashboard
tests do, with their extra databases)."""
from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_console_support import World, kb_copy, make_world  # noqa: F401  (kb_copy is a fixture)


@pytest.fixture()
def world(tmp_path: Path, kb_copy: Path) -> World:  # noqa: F811
    return make_world(tmp_path, kb_copy)


@pytest.fixture()
def editor(world: World) -> tuple[TestClient, str]:
    return world.login("bientap")


@pytest.fixture()
def approver(world: World) -> tuple[TestClient, str]:
    return world.login("duyet")
