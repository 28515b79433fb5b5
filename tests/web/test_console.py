"""Live calls, analytics and survey links over HTTP (SQLite and PostgreSQL): who may see
what, the JSON keys, bad dates, the event stream, one-time survey links and CSRF."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import aiohttp
import sqlalchemy as sa

from ivr.events import EventKind
from ivr.security.notifier import EmbeddedNotifier
from ivr.store.analytics import KEYS
from ivr.store.models import OtpOutboxRow, SurveyRow
from ivr.testing.web_harness import WebServer, form_token, login
from ivr.web.live_board import LiveFeed
from ivr.web.survey_invites import Invitation, SurveyInviter


class NullLog:
    def start(self, **values: object) -> None: ...

    def update(self, **values: object) -> None: ...

    def event(self, kind: EventKind, node: str | None = None, **data: object) -> None: ...


ACCESS = [("sam", 200, 200), ("ada", 403, 200), ("otto", 403, 403), (None, 401, 401)]
"""Who may open the live stream and analytics: supervisors both, admins analytics only."""


async def test_who_may_see_live_calls_and_analytics(server: WebServer) -> None:
    for user, live, analytics in ACCESS:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            if user:
                await login(http, server.base, user)
            async with http.get(f"{server.base}/api/analytics") as resp:
                assert resp.status == analytics, user
            async with http.get(f"{server.base}/analytics.csv") as resp:
                assert resp.status == (analytics if user else 200), user  # else: login page
                assert (resp.url.path == "/login") == (user is None)
            async with http.get(f"{server.base}/live/events", allow_redirects=False) as resp:
                assert resp.status == (live if user else 303), user


async def test_analytics_json_has_exactly_the_issue_keys(server: WebServer) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await login(http, server.base, "sam")
        async with http.get(f"{server.base}/api/analytics",
                            params={"from": "2026-12-01", "to": "2026-12-02",
                                    "dialplan": "hotline"}) as resp:
            assert resp.status == 200
            body = await resp.json()
        assert list(body) == [*KEYS, "by_day"]
        assert list(body["by_day"]) == ["2026-12-01", "2026-12-02"]
        for bad in ({"from": "2026-12-05", "to": "2026-12-01"}, {"from": "yesterday"},
                    {"dialplan": "../etc"}, {"language": "english"}):
            async with http.get(f"{server.base}/api/analytics", params=bad) as resp:
                assert resp.status == 400
                assert (await resp.json())["error"]["code"] == "web-bad-query"


def test_a_live_row_carries_every_field_of_the_call() -> None:
    import dataclasses

    from ivr.web.live_board import LiveCall

    call = LiveCall(id="c1", transport="agi", caller="***4567", language="zh-CN",
                    dialplan="hotline", started=1.5, node="main_menu", distress=0.4,
                    escalated=True)
    assert call.as_dict() == dataclasses.asdict(call)


async def test_the_live_stream_shows_a_call_start_change_and_end(server: WebServer) -> None:
    board = server.console.board
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await login(http, server.base, "sam")
        async with http.get(f"{server.base}/live/events") as resp:
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            lines = resp.content

            async def next_event() -> tuple[str, dict[str, object]]:
                event = ""
                while True:
                    line = (await lines.readline()).decode().strip()
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        return event, json.loads(line[6:])

            kind, snap = await next_event()
            assert kind == "snapshot" and snap["calls"] == []
            feed = LiveFeed(NullLog(), "call1", board)
            feed.start(transport="agi", caller="+15551234567", language="en-US",
                       dialplan_id="hotline")
            feed.event(EventKind.NODE_ENTERED, node="main_menu", node_kind="ask")
            feed.event(EventKind.DISTRESS, node="main_menu", score=0.81)
            feed.event(EventKind.CALL_ENDED, outcome="queued", queue="customer_service")
            kind, start = await next_event()
            assert kind == "start" and start["call"]["caller"] == "***4567"  # type: ignore[index]
            assert "+1555" not in json.dumps(start)
            _, moved = await next_event()
            assert moved["call"]["node"] == "main_menu"  # type: ignore[index]
            _, scored = await next_event()
            assert scored["call"]["distress"] == 0.81  # type: ignore[index]
            kind, ended = await next_event()
            assert kind == "end" and ended["outcome"] == "queued"
        assert board.calls == {}


async def _invite(server: WebServer, tmp_path: object) -> str:
    from pathlib import Path

    notifier = EmbeddedNotifier(server.engine, Path(str(tmp_path)) / "outbox.log")
    inviter = SurveyInviter(server.engine, notifier, base_url=server.base)
    token = await inviter.invite(Invitation(server.card_call, "+15551234567", "zh-CN"))
    assert token is not None
    async with server.engine.connect() as conn:
        body = (await conn.execute(sa.select(OtpOutboxRow.body))).scalar_one()
    assert f"{server.base}/s/{token}" in body and "评分" in body
    return token


async def test_a_survey_link_is_answered_once(server: WebServer, tmp_path: object) -> None:
    token = await _invite(server, tmp_path)
    url = f"{server.base}/s/{token}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(url) as resp:
            assert resp.status == 200
            page = await resp.text()
        assert "服务评价" in page  # the caller's language
        csrf = form_token(page)
        async with http.post(url, data={"score": "4"}) as resp:  # no token: refused
            assert resp.status == 403
        async with http.post(url, data={"score": "9", "csrf": csrf}) as resp:
            assert resp.status == 400
        async with http.post(url, data={"score": "4", "csrf": csrf}) as resp:
            assert resp.status == 200 and "感谢" in await resp.text()
        async with http.get(url) as resp:
            assert resp.status == 410
        async with http.post(url, data={"score": "1", "csrf": csrf}) as resp:
            assert resp.status in (403, 410)
        async with http.get(f"{server.base}/s/{'x' * 32}") as resp:
            assert resp.status == 404
    async with server.engine.connect() as conn:
        rows = (await conn.execute(sa.select(SurveyRow.score, SurveyRow.token_hash))).all()
    assert [r.score for r in rows] == [4] and token not in rows[0].token_hash
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await login(http, server.base, "sam")
        async with http.get(f"{server.base}/calls/{server.card_call}") as resp:
            assert "4 / 5 (by text)" in await resp.text()


async def test_an_expired_survey_link_says_so(server: WebServer, tmp_path: object) -> None:
    token = await _invite(server, tmp_path)
    async with server.engine.begin() as conn:
        await conn.execute(sa.update(SurveyRow).values(
            expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    async with aiohttp.ClientSession() as http, http.get(
            f"{server.base}/s/{token}?lang=en-US") as resp:
        assert resp.status == 410 and "expired" in await resp.text()


async def test_agent_complete_mode_texts_when_the_agent_leg_ends(server: WebServer,
                                                                 tmp_path: object) -> None:
    from pathlib import Path

    notifier = EmbeddedNotifier(server.engine, Path(str(tmp_path)) / "outbox.log")
    inviter = SurveyInviter(server.engine, notifier, base_url=server.base, when="agent_complete")
    feed = LiveFeed(NullLog(), server.card_call, server.console.board, inviter)
    feed.start(transport="agi", caller="+15551234567", language="en-US",
               uniqueid="1795605202.1")
    feed.event(EventKind.TRANSFER, node="agent", queue="card_services", priority=7)
    feed.event(EventKind.CALL_ENDED, outcome="queued", queue="card_services")
    assert inviter._queue.empty()  # nothing yet: the caller is still with the agent
    assert not inviter.agent_complete({"Uniqueid": "1795605999.3"})  # not our channel
    assert not inviter.agent_complete(["garbage"]) and not inviter.agent_leg_ended("other")
    assert inviter.agent_complete({"Uniqueid": "1795605202.1", "Linkedid": "1795605202.0"})
    assert await inviter.invite(inviter._queue.get_nowait()) is not None
    async with server.engine.connect() as conn:
        body = (await conn.execute(sa.select(OtpOutboxRow.body))).scalar_one()
    assert "How did we do?" in body and f"{server.base}/s/" in body


async def test_a_failing_invitation_does_not_stop_the_next(server: WebServer,
                                                           tmp_path: object) -> None:
    from pathlib import Path

    class Flaky(EmbeddedNotifier):
        calls = 0

        async def send(self, message: object) -> None:  # type: ignore[override]
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise RuntimeError("gateway bug")
            await super().send(message)  # type: ignore[arg-type]

    inviter = SurveyInviter(server.engine, Flaky(server.engine, Path(str(tmp_path)) / "o.log"),
                            base_url=server.base)
    task = asyncio.create_task(inviter.run())
    for _ in range(2):
        inviter._offer(Invitation(server.card_call, "+15551234567", "en-US"))
    for _ in range(100):
        if inviter.sent:
            break
        await asyncio.sleep(0.05)
    still_running = not task.done()
    task.cancel()
    assert inviter.sent == 1 and Flaky.calls == 2 and still_running
