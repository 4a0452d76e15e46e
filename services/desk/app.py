"""Desk service wiring: the sign-in, session and CSRF checks in front of every page and API call.

Signed out, a page redirects to the sign-in form and an API call answers 401; a state-changing
request without the session's CSRF token answers 403.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from services.desk.adapters import RedisAttempts, RedisUsers
from services.desk.handlers import (
    csrf_ok,
    csrf_token,
    issue_session,
    may,
    new_user,
    read_session,
    sign_in,
)
from services.desk.ports import Session, SignInRefused
from services.desk.settings import DeskSettings
from shared.broker import create_redis

SESSION_COOKIE = "desk_session"
PRESESSION_COOKIE = "desk_presession"
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
Page = Callable[[Request, Session], Awaitable[Response]]


class Desk:
    def __init__(self, settings: DeskSettings) -> None:
        self.settings = settings
        self.secret = settings.secret()
        self.redis: Redis | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.redis = create_redis(
            self.settings.redis_url, max_connections=self.settings.redis_max_connections
        )
        try:
            yield
        finally:
            await self.redis.aclose()

    def _stores(self) -> tuple[RedisUsers, RedisAttempts]:
        assert self.redis is not None
        return RedisUsers(self.redis), RedisAttempts(self.redis)

    def session_of(self, request: Request) -> Session | None:
        return read_session(request.cookies.get(SESSION_COOKIE), self.secret, time.time())

    def _cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            samesite="strict",
            secure=bool(self.settings.desk_secure_cookies),
            path="/",
        )

    def render(self, template: str, status: int = 200, **context: object) -> HTMLResponse:
        page = _TEMPLATES.get_template(template).render(**context)
        return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})

    # --- sign-in and out ------------------------------------------------------------------------

    async def signin_form(self, request: Request) -> Response:
        return self._signin_page(request)

    def _signin_page(
        self, request: Request, status: int = 200, error: str | None = None, user: str = ""
    ) -> Response:
        nonce = secrets.token_urlsafe(16)
        response = self.render(
            "signin.html",
            status,
            title="Sign in",
            csrf=csrf_token(self.secret, nonce),
            error=error,
            user=user,
        )
        self._cookie(response, PRESESSION_COOKIE, nonce, 3600)
        return response

    async def signin(self, request: Request) -> Response:
        form = await request.form()
        if not csrf_ok(self.secret, request.cookies.get(PRESESSION_COOKIE), _field(form, "csrf")):
            return self._signin_page(request, 403, "The form had expired: please sign in again.")
        users, attempts = self._stores()
        address = request.client.host if request.client else "unknown"
        s = self.settings
        try:
            user = await sign_in(
                users,
                attempts,
                name=_field(form, "user") or "",
                password=_field(form, "password") or "",
                address=address,
                limits=(
                    s.desk_max_failures_per_user,
                    s.desk_max_failures_per_address,
                    s.desk_failure_window_s,
                ),
            )
        except SignInRefused as refused:
            response = self._signin_page(
                request, refused.status, refused.reason, _field(form, "user") or ""
            )
            if refused.retry_after_s is not None:
                response.headers["Retry-After"] = str(refused.retry_after_s)
            return response
        _session, cookie = issue_session(user, self.secret, time.time(), s.desk_session_max_age_s)
        response = RedirectResponse("./", status_code=303)
        self._cookie(response, SESSION_COOKIE, cookie, s.desk_session_max_age_s)
        response.delete_cookie(PRESESSION_COOKIE, path="/")
        return response

    async def signout(self, request: Request, session: Session) -> Response:
        response = RedirectResponse("signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # --- pages and API ----------------------------------------------------------------------------

    async def home(self, request: Request, session: Session) -> Response:
        expires = datetime.fromtimestamp(session.expires_at, UTC)
        return self.render(
            "home.html",
            title="Desk",
            session=session,
            csrf=csrf_token(self.secret, session.nonce),
            expires_iso=expires.isoformat(timespec="seconds"),
            expires_text=expires.strftime("%Y-%m-%d %H:%M"),
        )

    async def me(self, request: Request, session: Session) -> Response:
        return JSONResponse(
            {
                "user": session.user,
                "role": session.role,
                "expires_at": session.expires_at,
                "csrf": csrf_token(self.secret, session.nonce),
            }
        )

    def guarded(
        self, page: Page, action: str, *, api: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """`page` for a signed-in user allowed `action`; a state-changing request must also
        carry the session's CSRF token (form field `csrf` or header `X-CSRF-Token`)."""

        async def endpoint(request: Request) -> Response:
            session = self.session_of(request)
            if session is None:
                if api:
                    return JSONResponse({"detail": "sign in first"}, status_code=401)
                return RedirectResponse("signin", status_code=303)
            if not may(session, action):
                return JSONResponse({"detail": f"{session.role}s may not {action}"}, 403)
            if request.method not in ("GET", "HEAD"):
                token = request.headers.get("x-csrf-token")
                if token is None:
                    token = _field(await request.form(), "csrf")
                if not csrf_ok(self.secret, session.nonce, token):
                    return JSONResponse({"detail": "missing or wrong CSRF token"}, 403)
            return await page(request, session)

        return endpoint

    async def healthz(self, request: Request) -> JSONResponse:
        try:
            assert self.redis is not None
            ok = bool(await self.redis.ping())
        except Exception:
            ok = False
        return JSONResponse({"service": "desk", "redis": ok}, status_code=200 if ok else 503)


def _field(form: object, name: str) -> str | None:
    value = form.get(name) if hasattr(form, "get") else None
    return value if isinstance(value, str) else None


def create_app(settings: DeskSettings | None = None) -> Starlette:
    desk = Desk(settings or DeskSettings())
    return Starlette(
        routes=[
            Route("/signin", desk.signin_form, methods=["GET"]),
            Route("/signin", desk.signin, methods=["POST"]),
            Route("/signout", desk.guarded(desk.signout, "read"), methods=["POST"]),
            Route("/", desk.guarded(desk.home, "read")),
            Route("/api/v1/me", desk.guarded(desk.me, "read", api=True)),
            Route("/healthz", desk.healthz),
        ],
        lifespan=desk.lifespan,
    )


async def add_user(settings: DeskSettings, name: str, password: str, role: str) -> bool:
    """`wirepress desk add-user`: store a new editor; False if the name is taken."""
    user = new_user(name, password, role, time.time())
    redis = create_redis(settings.redis_url)
    try:
        return await RedisUsers(redis).put(user)
    finally:
        await redis.aclose()
