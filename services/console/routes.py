"""The officers' console in the FastAPI app: `install(app)` adds its pages (`/console/…`)
and JSON API (`/console/api/…`); `console_running(app, settings)` (in the app's lifespan)
opens its databases.

Everything under /console is `Cache-Control: no-store` and carries a Content-Security-Policy
that allows nothing but this origin's style sheet: no script at all, no CDN, forms posting
only to this origin, no framing.
"""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from assistant.settings import Settings
from services.console.api import api
from services.console.auth import API_PREFIX, LOGIN_NEEDED, SAFE_METHODS, Console, Forbidden, LoginRequired
from services.console.pages import pages, render_error
from services.console.review import review_api, review_pages
from services.console.transfer import transfer_api, transfer_pages

CSP = ("default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'")
CROSS_SITE = ("Yêu cầu bị từ chối: gửi từ một trang web khác. Anh/chị mở bảng điều khiển trực tiếp "
              "rồi thử lại.")
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Permissions-Policy": "camera=(), microphone=(), geolocation=()"}


@contextlib.asynccontextmanager
async def console_running(app: FastAPI, settings: Settings) -> AsyncIterator[Console]:
    console = Console.create(settings)
    app.state.console = console
    yield console


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


async def login_required(request: Request, _: Exception) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": LOGIN_NEEDED}, status_code=401)
    return RedirectResponse("/console/login", status_code=303)


async def forbidden(request: Request, error: Exception) -> Response:
    message = error.message if isinstance(error, Forbidden) else "Không có quyền."
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=403)
    return render_error(request, message, 403)


def install(app: FastAPI) -> None:
    """The console's pages and API in an app (its `Console` is made by `console_running`)."""
    app.include_router(api)
    app.include_router(pages)
    app.include_router(review_api)
    app.include_router(review_pages)
    app.include_router(transfer_api)
    app.include_router(transfer_pages)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(Forbidden, forbidden)

    @app.middleware("http")
    async def console_headers(request: Request,
                              call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Nothing of the console is cached, framed, or allowed to run a script; errors included.
        A change sent from another site's page is refused before any route runs: this covers
        the login form too, which has no session and so no CSRF token yet (a forged login
        would put an officer's browser in someone else's account)."""
        in_console = request.url.path == "/console" or request.url.path.startswith("/console/")
        if in_console and request.method not in SAFE_METHODS and cross_site(request):
            response: Response = JSONResponse({"detail": CROSS_SITE}, status_code=403)
        else:
            response = await call_next(request)
        if in_console:
            response.headers.update(HEADERS)
        return response


def cross_site(request: Request) -> bool:
    """True when the browser says the request comes from a page of another origin (`Origin`,
    or `Sec-Fetch-Site` where Origin is absent or "null", as Chromium sends it from our own
    pages because they are served with `Referrer-Policy: no-referrer`). Clients that send
    neither (scripts, tests) are not browsers acting for a visited page, and still need the
    session's CSRF token."""
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        own = f"{request.url.scheme}://{request.url.netloc}"
        return origin.rstrip("/") != own
    return request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none")
