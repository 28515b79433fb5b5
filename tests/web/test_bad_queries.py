"""What a browser or script typed into a URL or form: nonsense gets a 400 that says why,
never a 500 (SQLite and PostgreSQL)."""

from __future__ import annotations

import aiohttp
from yarl import URL

from ivr.testing.web_harness import WebServer, form_token, login


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def raw(base: str, path_qs: str) -> URL:
    """The address exactly as typed: no re-quoting of %00 and friends."""
    return URL(base + path_qs, encoded=True)


async def test_impossible_search_dates_get_400_with_the_form_and_a_message(
        server: WebServer) -> None:
    async with client() as http:
        await login(http, server.base, "sam")
        for day in ("9999-12-31", "0000-01-01", "2026-02-30", "1969-12-31", "+10000-01-01",
                    "99999999", "2026-13-01"):
            async with http.get(f"{server.base}/calls", params={"date": day}) as resp:
                html = await resp.text()
                assert (resp.status, resp.content_type) == (400, "text/html"), day
            assert "Date must" in html and 'name="date"' in html  # the form, to fix it in
            assert f"/calls/{server.card_call}" not in html and "No calls" not in html


async def test_unknown_outcome_and_a_valid_search_next_to_it(server: WebServer) -> None:
    async with client() as http:
        await login(http, server.base, "sam")
        async with http.get(f"{server.base}/calls?outcome=won") as resp:
            assert resp.status == 400 and "Unknown outcome" in await resp.text()
        async with http.get(f"{server.base}/calls?date=2026-11-20") as resp:
            assert resp.status == 200 and f"/calls/{server.card_call}" in await resp.text()


async def test_api_answers_json_400_for_bad_parameters_and_clamps_big_limits(
        server: WebServer) -> None:
    async with client() as http:
        await login(http, server.base, "sam")
        for query in ("limit=ten", "limit=1e3", "limit=%D9%A3", "outcome=won"):
            async with http.get(raw(server.base, f"/api/calls?{query}")) as resp:
                assert resp.status == 400, query
                doc = await resp.json()
            assert doc["error"]["code"] == "web-bad-query" and doc["error"]["message"], query
        for query in ("limit=99999999999999999999", "limit=-5", "limit=%2B7", "limit="):
            async with http.get(raw(server.base, f"/api/calls?{query}")) as resp:
                assert resp.status == 200, query
                assert len((await resp.json())["calls"]) in (1, 2)


HOSTILE = ["a%00b", "%1b%5b2J", "%9b", "%ED%A0%80", "9999-12-31", "2026-02-30",
           "99999999999999999999", "-1", "x" * 2000, "%25%5F"]
# Each route with the parameters it reads (plus one it does not), fuzzed as the role that
# can open it; the auditor also on the replay route, where a refusal is audited.
ROUTES = {"sam": {"/calls": "date caller outcome escalated", "/calls/{card}": "", "/calls/%00": "",
                  "/api/calls": "limit outcome", "/api/calls/{card}": "",
                  "/api/calls/%00": "", "/api/dialplans": "",
                  "/recordings/{rec}/audio": "t reason allow_incomplete",
                  "/recordings/%00/audio": "", "/softphone": "", "/healthz": ""},
          "ada": {"/admin/users": "", "/login": "next"},
          "otto": {"/audit": "action", "/recordings/{rec}/audio": "t"}}


async def test_no_route_answers_500_to_hostile_query_parameters(server: WebServer) -> None:
    assert server.recording is not None
    for user, routes in ROUTES.items():
        async with client() as http:
            await login(http, server.base, user)
            for route, params in routes.items():
                path = route.format(card=server.card_call, rec=server.recording.id)
                for name in [*params.split(), "page"]:
                    for value in HOSTILE:
                        async with http.get(raw(server.base, f"{path}?{name}={value}"),
                                            allow_redirects=False) as resp:
                            body = await resp.text()
                        assert resp.status < 500, (user, path, name, value, body[:200])
                        if "%00" in value + path or value == "%1b%5b2J":
                            assert resp.status == 400, (user, path, name, value)
                            assert "control characters" in body


async def test_forms_with_control_characters_are_refused_not_crashed(
        server: WebServer) -> None:
    async with client() as http:
        landed = await login(http, server.base, "ada")
        async with http.post(f"{server.base}/admin/users", data={
                "action": "add", "name": "eve\x00", "role": "supervisor",
                "password": "long enough password 1", "csrf": landed.csrf}) as resp:
            assert resp.status == 400 and "control characters" in await resp.text()
        assert await server.users.get("eve") is None
    async with client() as http:
        async with http.get(f"{server.base}/login") as resp:
            token = form_token(await resp.text())
        async with http.post(f"{server.base}/login", data={
                "name": "sam\x00", "password": "x", "csrf": token}) as resp:
            assert resp.status == 400
