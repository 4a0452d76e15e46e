"""The desk against a real Valkey: users, sign-in, sessions, CSRF, lock-outs, over HTTP."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from services.desk import DeskSettings, add_user
from services.desk.app import SESSION_COOKIE, create_app
from services.desk.handlers import issue_session
from services.desk.ports import User
from tests.stack_settings import StackSettings

pytestmark = pytest.mark.integration

SECRET = "an-integration-test-secret-of-some-length"
PASSWORD = "correct horse battery"


def desk_settings(settings: StackSettings, **more: object) -> DeskSettings:
    return DeskSettings(
        redis_url=settings.redis_url,
        enrich_url=settings.enrich_url,
        s3_endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        archive_bucket=settings.archive_bucket,
        wirepress_env="production",
        desk_secret=SECRET,
        desk_secure_cookies=False,  # the test client speaks http
        **more,
    )


@contextlib.asynccontextmanager
async def desk(settings: DeskSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://desk/") as client:
            yield client


def form_token(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def signed_in(client: httpx.AsyncClient, user: str = "ada") -> str:
    token = form_token((await client.get("signin")).text)
    answer = await client.post("signin", data={"csrf": token, "user": user, "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=" in cookie
    return form_token((await client.get("")).text)


async def test_users_are_added_once_and_sign_in_with_their_password(
    settings: StackSettings,
) -> None:
    config = desk_settings(settings)
    assert await add_user(config, "Ada", PASSWORD, "editor")
    assert not await add_user(config, "ada", "another long password", "admin")  # taken
    async with desk(config) as client:
        # Signed out: every page sends to the form, every API call is a 401.
        assert (await client.get("")).status_code == 303
        assert (await client.get("api/v1/me")).status_code == 401
        token = form_token((await client.get("signin")).text)
        wrong = await client.post("signin", data={"csrf": token, "user": "ada", "password": "no"})
        assert wrong.status_code == 401 and "do not match" in wrong.text
        csrf = await signed_in(client)
        home = await client.get("")
        assert home.status_code == 200 and "ada" in home.text
        me = (await client.get("api/v1/me")).json()
        assert (me["user"], me["role"]) == ("ada", "editor")
        # Signing out is state-changing: without the session's token it is refused.
        assert (await client.post("signout")).status_code == 403
        assert (await client.post("signout", headers={"X-CSRF-Token": "forged"})).status_code == 403
        cookie = client.cookies[SESSION_COOKIE]
        out = await client.post("signout", data={"csrf": csrf})
        assert out.status_code == 303
        assert (await client.get("api/v1/me")).status_code == 401
        # The signed-out cookie, replayed, is refused too (it has not expired yet).
        client.cookies.set(SESSION_COOKIE, cookie)
        assert (await client.get("api/v1/me")).status_code == 401


async def test_a_sign_in_without_the_forms_token_is_refused(settings: StackSettings) -> None:
    config = desk_settings(settings)
    await add_user(config, "ada", PASSWORD, "editor")
    async with desk(config) as client:
        await client.get("signin")
        forged = await client.post(
            "signin", data={"csrf": "forged", "user": "ada", "password": PASSWORD}
        )
        assert forged.status_code == 403 and SESSION_COOKIE not in forged.headers.get(
            "set-cookie", ""
        )


async def test_repeated_failures_are_answered_429_with_retry_after(settings: StackSettings) -> None:
    config = desk_settings(settings, desk_max_failures_per_user=2)
    await add_user(config, "ada", PASSWORD, "editor")
    async with desk(config) as client:
        for _ in range(2):
            token = form_token((await client.get("signin")).text)
            await client.post("signin", data={"csrf": token, "user": "ada", "password": "guess"})
        token = form_token((await client.get("signin")).text)
        locked = await client.post(
            "signin", data={"csrf": token, "user": "ada", "password": PASSWORD}
        )
        assert locked.status_code == 429
        assert 0 < int(locked.headers["retry-after"]) <= config.desk_failure_window_s


async def test_an_expired_or_foreign_session_is_refused(settings: StackSettings) -> None:
    config = desk_settings(settings)
    ada = User("ada", "unused", "editor", 0)
    _, expired = issue_session(ada, config.secret(), time.time() - 7200, max_age_s=3600)
    _, foreign = issue_session(ada, b"another secret entirely, 32 chars", time.time(), 3600)
    async with desk(config) as client:
        for cookie in (expired, foreign):
            client.cookies.set(SESSION_COOKIE, cookie)
            assert (await client.get("api/v1/me")).status_code == 401


def test_wirepress_desk_add_user(settings: StackSettings) -> None:
    env = {
        **os.environ,
        "REDIS_URL": settings.redis_url,
        "WIREPRESS_ENV": "production",
        "DESK_SECRET": SECRET,
    }

    def add(*args: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", "desk", "add-user", *args],
            input=password + "\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    made = add("Grace", "--role", "admin", "--password-stdin")
    assert made.returncode == 0 and "added admin grace" in made.stdout, made.stderr
    assert add("grace", "--password-stdin").returncode == 1  # taken
    assert add("bob", "--password-stdin", password="short").returncode == 2
    generated = add("carol", "--generate-password")
    assert generated.returncode == 0 and "password: " in generated.stdout
    without_secret = subprocess.run(
        [sys.executable, "-m", "cli.main", "desk", "add-user", "dan", "--generate-password"],
        capture_output=True,
        text=True,
        env={**env, "DESK_SECRET": ""},
        timeout=60,
        check=False,
    )
    assert without_secret.returncode != 0


async def test_a_form_is_read_within_its_limit_however_it_is_sent(settings: StackSettings) -> None:
    async with desk(desk_settings(settings)) as client:

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(100):
                yield b"user=" + b"a" * 1024 + b"&"

        # No Content-Length (chunked) and past the limit: refused before it is parsed.
        answer = await client.post(
            "signin",
            content=chunks(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 413
        many = "&".join(f"f{i}=x" for i in range(101))
        answer = await client.post(
            "signin", content=many, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert answer.status_code == 413
