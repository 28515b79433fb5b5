"""Logins, sessions, CSRF, lockout and roles over real HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from yarl import URL

from ivr.testing.web_harness import PASSWORD, WebServer, form_token, login
from ivr.web.passwords import verify_password
from ivr.web.users import UserRepository, WebError


def client() -> aiohttp.ClientSession:
    # unsafe=True: the jar must keep cookies for an IP-address host like 127.0.0.1.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_passwords_are_argon2id_hashes(server: WebServer) -> None:
    user = await server.users.add("newbie", "supervisor", "a long enough one")
    async with server.engine.connect() as conn:
        from sqlalchemy import text

        stored = (await conn.execute(text("SELECT password_hash FROM web_users "
                                          "WHERE name = 'newbie'"))).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "a long enough one" not in stored and verify_password(stored, "a long enough one")
    assert user.role == "supervisor"
    with pytest.raises(WebError) as err:
        await server.users.add("newbie", "admin", "another long one")
    assert err.value.code == "web-user-exists"
    with pytest.raises(WebError) as err:
        await server.users.add("shorty", "admin", "short")
    assert err.value.code == "web-weak-password"
    with pytest.raises(WebError) as err:
        await server.users.add("boss", "root", "a long enough one")
    assert err.value.code == "web-bad-role"


async def test_login_sets_a_strict_httponly_session_and_lands_on_calls(server: WebServer) -> None:
    async with client() as http:
        async with http.get(f"{server.base}/calls", allow_redirects=False) as resp:
            assert resp.status == 303 and resp.headers["Location"].startswith("/login?next=")
        async with http.get(f"{server.base}/login") as resp:
            token = form_token(await resp.text())
        async with http.post(f"{server.base}/login", allow_redirects=False,
                             data={"name": "sam", "password": PASSWORD, "csrf": token}) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/calls"
            cookie = resp.headers["Set-Cookie"]
        assert "ivr_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        async with http.get(f"{server.base}/calls") as resp:
            assert resp.status == 200 and "+15551234567" in await resp.text()
    entries = await server.audit.list(action="web.login")
    assert [(e.actor, e.outcome, e.channel) for e in entries] == [("web:sam", "ok", "127.0.0.1")]


async def test_wrong_password_is_refused_and_audited(server: WebServer) -> None:
    async with client() as http:
        resp = await login(http, server.base, "sam", "not the password")
        assert resp.status == 401
        resp = await login(http, server.base, "nobody", "whatever it is")
        assert resp.status == 401
    entries = await server.audit.list(action="web.login")
    assert [(e.actor, e.outcome) for e in entries] == [
        ("web:(unknown)", "unknown-user"), ("web:sam", "bad-password")]


async def test_five_failures_lock_the_account_for_fifteen_minutes(server: WebServer) -> None:
    async with client() as http:
        for _ in range(4):
            assert (await login(http, server.base, "sam", "wrong password")).status == 401
        async with http.get(f"{server.base}/login") as resp:
            token = form_token(await resp.text())
        async with http.post(f"{server.base}/login", data={
                "name": "sam", "password": "wrong again", "csrf": token}) as resp:
            assert "locked" in await resp.text()
        # Now even the right password is refused, and nothing is counted any more.
        async with http.get(f"{server.base}/login") as resp:
            token = form_token(await resp.text())
        async with http.post(f"{server.base}/login", allow_redirects=False, data={
                "name": "sam", "password": PASSWORD, "csrf": token}) as resp:
            assert resp.status == 401 and "locked" in await resp.text()
    user = await server.users.get("sam")
    assert user is not None and user.locked_until is not None
    assert timedelta(minutes=14) < user.locked_until - datetime.now(UTC) <= timedelta(minutes=15)
    outcomes = [e.outcome for e in await server.audit.list(action="web.login")]
    assert outcomes == ["locked", "locked"] + ["bad-password"] * 4
    # After the lockout the right password works again and clears the count.
    later = datetime.now(UTC) + timedelta(minutes=16)
    result = await server.users.authenticate("sam", PASSWORD, now=later)
    assert result.ok and result.user is not None and result.user.failed_logins == 0


async def test_parallel_guesses_cannot_exceed_the_limit(server: WebServer) -> None:
    users = UserRepository(server.engine, max_failures=5)
    results = await asyncio.gather(*[users.authenticate("otto", f"guess {i}")
                                     for i in range(12)])
    assert sum(r.outcome == "bad-password" for r in results) == 4
    assert sum(r.outcome == "locked" for r in results) == 8


async def test_post_without_csrf_token_is_refused(server: WebServer) -> None:
    async with client() as http:
        # Login form without its token.
        async with http.post(f"{server.base}/login",
                             data={"name": "sam", "password": PASSWORD}) as resp:
            assert resp.status == 403
        await login(http, server.base, "sam")
        # Logged in, but the logout form posted without the token (or with another one).
        for data in ({}, {"csrf": "forged"}):
            async with http.post(f"{server.base}/logout", data=data,
                                 allow_redirects=False) as resp:
                assert resp.status == 403
        # A cross-site Origin is refused even with the right token.
        async with http.get(f"{server.base}/calls/{server.card_call}") as resp:
            token = form_token(await resp.text())
        async with http.post(f"{server.base}/logout", data={"csrf": token},
                             headers={"Origin": "https://evil.example"},
                             allow_redirects=False) as resp:
            assert resp.status == 403
        async with http.get(f"{server.base}/calls") as resp:
            assert resp.status == 200  # still logged in
        async with http.post(f"{server.base}/logout", data={"csrf": token},
                             allow_redirects=False) as resp:
            assert resp.status == 303
        async with http.get(f"{server.base}/calls", allow_redirects=False) as resp:
            assert resp.status == 303
    actions = [(e.actor, e.action) for e in await server.audit.list(action="web.")]
    assert actions[0] == ("web:sam", "web.logout")


async def test_a_logged_out_cookie_is_worthless(server: WebServer) -> None:
    async with client() as http:
        await login(http, server.base, "sam")
        cookie = http.cookie_jar.filter_cookies(URL(server.base))["ivr_session"].value
        async with http.get(f"{server.base}/calls") as resp:
            token = form_token(await resp.text())
        async with http.post(f"{server.base}/logout", data={"csrf": token}) as resp:
            assert resp.status == 200
    async with aiohttp.ClientSession() as http, http.get(f"{server.base}/api/calls",
                        headers={"Cookie": f"ivr_session={cookie}"}) as resp:
        assert resp.status == 401


async def test_sessions_expire(server: WebServer) -> None:
    from ivr.web.sessions import SessionStore

    store = SessionStore(server.engine, idle=timedelta(minutes=30), max_age=timedelta(hours=12))
    user = await server.users.get("sam")
    assert user is not None
    now = datetime.now(UTC)
    cookie, _ = await store.create(user, "127.0.0.1", now=now)
    assert await store.load(cookie, now + timedelta(minutes=29)) is not None
    # Use keeps it alive past the first idle window...
    assert await store.load(cookie, now + timedelta(minutes=55)) is not None
    # ...but not past the absolute limit, nor after a long idle gap.
    assert await store.load(cookie, now + timedelta(hours=13)) is None
    cookie, _ = await store.create(user, "127.0.0.1", now=now)
    assert await store.load(cookie, now + timedelta(minutes=31)) is None


async def test_roles_and_the_api(server: WebServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.base}/api/calls") as resp:
            assert resp.status == 401
        async with http.get(f"{server.base}/healthz") as resp:
            assert resp.status == 200
        async with http.get(f"{server.base}/metrics") as resp:
            assert resp.status == 200
    for name, landing, refused in (("ada", "/admin/users", "/calls"),
                                   ("otto", "/audit", "/admin/users")):
        async with client() as http:
            resp = await login(http, server.base, name)
            assert resp.path == landing and resp.status == 200
            async with http.get(f"{server.base}{refused}") as r:
                assert r.status == 403
            async with http.get(f"{server.base}/api/calls") as r:
                assert r.status == 403
    async with client() as http:
        await login(http, server.base, "sam")
        async with http.get(f"{server.base}/api/calls") as resp:
            calls = (await resp.json())["calls"]
        assert [c["id"] for c in calls] == [server.card_call, server.other_call]
        async with http.get(f"{server.base}/api/calls/{server.card_call}") as resp:
            events = (await resp.json())["events"]
        assert "Entered pin — secret, not shown" in [e["text"] for e in events]


async def test_security_headers(server: WebServer) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{server.base}/login") as resp:
        headers = resp.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"


async def test_admin_manages_users_with_csrf(server: WebServer) -> None:
    async with client() as http:
        await login(http, server.base, "ada")
        async with http.get(f"{server.base}/admin/users") as resp:
            token = form_token(await resp.text())
        async with http.post(f"{server.base}/admin/users", data={
                "csrf": token, "action": "add", "name": "sue", "role": "supervisor",
                "password": "another good one"}) as resp:
            assert resp.status == 200 and "Added sue." in await resp.text()
        async with http.post(f"{server.base}/admin/users", data={
                "action": "disable", "name": "sue"}) as resp:
            assert resp.status == 403
        async with http.post(f"{server.base}/admin/users", data={
                "csrf": token, "action": "disable", "name": "sue"}) as resp:
            assert resp.status == 200
    sue = await server.users.get("sue")
    assert sue is not None and sue.disabled
    async with client() as http:
        assert (await login(http, server.base, "sue", "another good one")).status == 401
