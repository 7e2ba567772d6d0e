"""Access to the officers' console: every route refuses without a session and with the wrong
role; lockout; session expiry (injected clock); CSRF; logout; the cookie; headers."""
from __future__ import annotations

import re

from fastapi.routing import APIRoute
from test_console_support import PASSWORD

from services.console.auth import ADMINS, APPROVERS, EDITORS, READERS

PUBLIC = {("GET", "/console/login"), ("POST", "/console/login"), ("POST", "/console/api/login"),
          ("GET", "/console/static/{name}")}
SAMPLE_PATH_VALUES = {"draft_id": "1", "username": "bientap", "name": "console.css"}

# What the workflow requires, stated here so that a route given the wrong role list fails.
EXPECTED_ROLES = {
    ("POST", "/console/api/drafts"): EDITORS,
    ("PUT", "/console/api/drafts/{draft_id}"): EDITORS,
    ("POST", "/console/api/drafts/{draft_id}/publish"): APPROVERS,
    ("POST", "/console/api/drafts/{draft_id}/discard"): APPROVERS,
    ("POST", "/console/api/restore"): APPROVERS,
    ("GET", "/console/api/accounts"): ADMINS,
    ("POST", "/console/api/accounts"): ADMINS,
    ("PATCH", "/console/api/accounts/{username}"): ADMINS,
    ("GET", "/console/api/entries"): READERS,
    ("GET", "/console/edit"): EDITORS,
    ("POST", "/console/edit"): EDITORS,
    ("POST", "/console/retire"): EDITORS,
    ("POST", "/console/drafts/{draft_id}/publish"): APPROVERS,
    ("POST", "/console/drafts/{draft_id}/discard"): APPROVERS,
    ("POST", "/console/restore"): APPROVERS,
    ("GET", "/console/accounts"): ADMINS,
    ("POST", "/console/accounts"): ADMINS,
    ("POST", "/console/accounts/{username}"): ADMINS,
}
def login(client, username: str, password: str = PASSWORD) -> int:
    return client.post("/console/api/login", json={"username": username, "password": password}).status_code


USERS = {"editor": "bientap", "approver": "duyet", "admin": "quantri"}


def console_routes(app) -> list[tuple[str, str, tuple[str, ...] | None]]:
    """(method, path, roles) of every console route; roles from its `allowed(...)` dependency."""
    found = []
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/console"):
            continue
        roles = None
        for dependency in route.dependant.dependencies:
            roles = getattr(dependency.call, "roles", roles)
        for method in route.methods:
            found.append((method, route.path, roles))
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: SAMPLE_PATH_VALUES[m.group(1)], path)


def test_every_console_route_needs_a_session_and_its_role(world):
    routes = console_routes(world.app)
    assert len(routes) > 25
    assert {(m, p) for m, p, _ in routes} >= PUBLIC
    clients = {role: world.login(user) for role, user in USERS.items()}
    anonymous = world.client()
    for method, path, roles in routes:
        if (method, path) in PUBLIC:
            continue
        url = concrete(path)
        # without a session: 401 on the API, the login page for the pages
        response = anonymous.request(method, url, follow_redirects=False)
        if path.startswith("/console/api"):
            assert response.status_code == 401, (method, path)
            assert "đăng nhập" in response.json()["detail"]
        else:
            assert response.status_code == 303, (method, path)
            assert response.headers["location"] == "/console/login"
        # every other route states which roles may use it
        assert roles is not None, f"{method} {path} has no role check"
        assert set(roles) <= {"editor", "approver", "admin"}
        if (method, path) in EXPECTED_ROLES:
            assert set(roles) == set(EXPECTED_ROLES[method, path]), (method, path)
        for role, (client, csrf) in clients.items():
            if role in roles:
                continue
            response = client.request(method, url, headers={"X-CSRF-Token": csrf}, follow_redirects=False)
            assert response.status_code == 403, (role, method, path, response.status_code)
            text = response.json()["detail"] if path.startswith("/console/api") else response.text
            assert "không có quyền" in text, (role, method, path)


def test_the_console_is_mounted_in_the_app():
    from services.api.main import app
    from services.console.routes import install  # noqa: F401

    paths = {(m, p) for m, p, _ in console_routes(app)}
    assert ("POST", "/console/api/drafts/{draft_id}/publish") in paths and ("GET", "/console/") in paths


def test_login_sets_a_strict_http_only_cookie_and_me_answers(world):
    client = world.client()
    response = client.post("/console/api/login", json={"username": "bientap", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # CONSOLE_COOKIE_SECURE unset
    token = re.search(r"console_session=([^;]+)", cookie).group(1)
    assert len(token) >= 43  # 256 bits, base64url
    # only the token's sha256 is stored
    assert token.encode() not in world.console.settings.console_db.read_bytes()
    me = client.get("/console/api/me").json()
    assert me["username"] == "bientap" and me["role"] == "editor" and me["csrf_token"]


def test_everything_under_console_is_no_store_with_a_strict_csp(world):
    client = world.client()
    for url in ("/console/login", "/console/api/me", "/console/", "/console/static/console.css"):
        response = client.get(url, follow_redirects=False)
        assert response.headers["cache-control"] == "no-store", url
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'none'" in csp and "frame-ancestors 'none'" in csp


def test_five_failures_lock_the_account_even_for_the_right_password(world):
    client = world.client()
    for _ in range(4):
        assert client.post("/console/api/login", json={"username": "duyet", "password": "sai-mat-khau-0000"}
                           ).status_code == 401
    assert login(client, "duyet") == 200
    for _ in range(5):  # the success reset the count: five more in a row lock it
        client.post("/console/api/login", json={"username": "duyet", "password": "sai-mat-khau-0000"})
    locked = client.post("/console/api/login", json={"username": "duyet", "password": PASSWORD})
    assert locked.status_code == 401
    # the same answer as for a name that does not exist: nothing tells them apart
    unknown = client.post("/console/api/login", json={"username": "khong-ai-ca", "password": PASSWORD})
    assert unknown.status_code == 401 and unknown.json() == locked.json()
    assert "Đăng nhập không thành công" in locked.json()["detail"]
    world.clock.now += 14 * 60
    assert login(client, "duyet") == 401
    world.clock.now += 2 * 60  # 15 minutes have passed
    assert login(client, "duyet") == 200


def test_admin_can_unlock_an_account(world):
    client = world.client()
    for _ in range(5):
        client.post("/console/api/login", json={"username": "bientap", "password": "sai-mat-khau-0000"})
    admin, csrf = world.login("quantri")
    listed = {a["username"]: a for a in admin.get("/console/api/accounts").json()}
    assert listed["bientap"]["locked"] is True
    assert admin.patch("/console/api/accounts/bientap", json={"unlock": True},
                       headers={"X-CSRF-Token": csrf}).json()["locked"] is False
    assert login(client, "bientap") == 200


def test_sessions_expire_when_idle_and_after_eight_hours(world):
    client, _ = world.login("bientap")
    world.clock.now += 29 * 60
    assert client.get("/console/api/me").status_code == 200  # a request restarts the idle clock
    world.clock.now += 29 * 60
    assert client.get("/console/api/me").status_code == 200
    world.clock.now += 31 * 60
    assert client.get("/console/api/me").status_code == 401
    # absolute limit: active all along, still ends 8 hours after login
    client, _ = world.login("bientap")
    for _ in range(16):
        world.clock.now += 29 * 60
        assert client.get("/console/api/me").status_code == 200
    world.clock.now += 20 * 60  # 8 h 4 min after login
    assert client.get("/console/api/me").status_code == 401


def test_changes_need_the_sessions_csrf_token(world):
    client, csrf = world.login("bientap")
    body = {"key": "faq:thu-csrf", "payload": None, "new": False}
    missing = client.post("/console/api/drafts", json=body)
    assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
    wrong = client.post("/console/api/drafts", json=body, headers={"X-CSRF-Token": csrf[:-2] + "xx"})
    assert wrong.status_code == 403
    other_client, other_csrf = world.login("duyet")
    assert other_csrf != csrf
    crossed = client.post("/console/api/drafts", json=body, headers={"X-CSRF-Token": other_csrf})
    assert crossed.status_code == 403
    # the same for a form post from a page, and for logging out
    page = client.post("/console/logout", data={"csrf_token": "sai"}, follow_redirects=False)
    assert page.status_code == 403 and "CSRF" in page.text
    assert client.get("/console/api/me").status_code == 200
    assert world.console.content.store.drafts(None) == []


def test_a_change_posted_from_another_site_is_refused_login_included(world):
    client = world.client()
    forged = client.post("/console/login", data={"username": "bientap", "password": PASSWORD},
                         headers={"Origin": "https://trang-la.example"}, follow_redirects=False)
    assert forged.status_code == 403 and "trang web khác" in forged.json()["detail"]
    assert "console_session" not in client.cookies
    fetched = client.post("/console/api/login", json={"username": "bientap", "password": PASSWORD},
                          headers={"Sec-Fetch-Site": "cross-site"})
    assert fetched.status_code == 403 and "console_session" not in client.cookies
    # the same login from the console's own page works
    own = client.post("/console/login", data={"username": "bientap", "password": PASSWORD},
                      headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
                      follow_redirects=False)
    assert own.status_code == 303 and "console_session" in client.cookies
    # Chromium sends "Origin: null" from our no-referrer pages: Sec-Fetch-Site decides
    for site, status in (("same-origin", 303), ("cross-site", 403)):
        other = world.client()
        sent = other.post("/console/login", data={"username": "duyet", "password": PASSWORD},
                          headers={"Origin": "null", "Sec-Fetch-Site": site}, follow_redirects=False)
        assert sent.status_code == status, site
    # and a logged-in officer's change from another site is refused too, CSRF token or not
    session, csrf = world.login("duyet")
    cross = session.post("/console/api/drafts", json={"key": "faq:x", "payload": None, "new": False},
                         headers={"X-CSRF-Token": csrf, "Origin": "https://trang-la.example"})
    assert cross.status_code == 403


def test_logout_deletes_the_session(world):
    client, csrf = world.login("bientap")
    cookie = client.cookies.get("console_session")
    assert client.post("/console/api/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get("/console/api/me").status_code == 401
    # the old cookie, replayed, does not come back to life
    replay = world.client()
    replay.cookies.set("console_session", cookie, path="/console")
    assert replay.get("/console/api/me").status_code == 401


def test_page_login_and_logout(world):
    client = world.client()
    assert client.get("/console/", follow_redirects=False).headers["location"] == "/console/login"
    page = client.get("/console/login")
    assert page.status_code == 200 and "Đăng nhập" in page.text and "<script" not in page.text
    bad = client.post("/console/login", data={"username": "bientap", "password": "sai"})
    assert bad.status_code == 401 and "không thành công" in bad.text
    ok = client.post("/console/login", data={"username": "bientap", "password": PASSWORD},
                     follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/console/"
    home = client.get("/console/")
    assert home.status_code == 200 and "bientap" in home.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
    out = client.post("/console/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_admin_manages_accounts_with_the_rules(world):
    admin, csrf = world.login("quantri")
    headers = {"X-CSRF-Token": csrf}
    short = admin.post("/console/api/accounts",
                       json={"username": "moi", "password": "ngan", "role": "editor"}, headers=headers)
    assert short.status_code == 400 and "12 ký tự" in short.json()["detail"]
    taken = admin.post("/console/api/accounts", json={"username": "Duyet", "password": PASSWORD,
                                                      "role": "editor"}, headers=headers)
    assert taken.status_code == 400 and "đã có" in taken.json()["detail"]
    made = admin.post("/console/api/accounts", json={"username": "canbo.moi", "password": PASSWORD,
                                                     "role": "editor"}, headers=headers)
    assert made.status_code == 201 and made.json()["role"] == "editor"
    # a new role ends the account's sessions
    editor, _ = world.login("canbo.moi")
    promoted = admin.patch("/console/api/accounts/canbo.moi", json={"role": "approver"}, headers=headers)
    assert promoted.is_success
    assert editor.get("/console/api/me").status_code == 401
    # disabling ends them and refuses login
    approver, _ = world.login("canbo.moi")
    assert admin.patch("/console/api/accounts/canbo.moi", json={"active": False}, headers=headers).is_success
    assert approver.get("/console/api/me").status_code == 401
    assert world.client().post("/console/api/login", json={"username": "canbo.moi", "password": PASSWORD}
                               ).status_code == 401
    # the last admin stays an admin
    last = admin.patch("/console/api/accounts/quantri", json={"role": "editor"}, headers=headers)
    assert last.status_code == 400 and "quản trị" in last.json()["detail"]


def test_an_officer_changes_their_own_password(world):
    client, csrf = world.login("bientap")
    other_device, _ = world.login("bientap")
    headers = {"X-CSRF-Token": csrf}
    wrong = client.post("/console/api/me/password",
                        json={"current": "sai-mat-khau-0000", "new": "x" * 12}, headers=headers)
    assert wrong.status_code == 400 and "không đúng" in wrong.json()["detail"]
    short = client.post("/console/api/me/password", json={"current": PASSWORD, "new": "ngan"},
                        headers=headers)
    assert short.status_code == 400 and "12 ký tự" in short.json()["detail"]
    new_password = "mat-khau-moi-cua-bientap"
    assert client.post("/console/api/me/password", json={"current": PASSWORD, "new": new_password},
                       headers=headers).status_code == 200
    # every session of the account ends; only the new password logs in
    assert client.get("/console/api/me").status_code == 401
    assert other_device.get("/console/api/me").status_code == 401
    assert login(world.client(), "bientap") == 401
    assert login(world.client(), "bientap", new_password) == 200
