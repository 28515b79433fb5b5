"""What supervisors see of distress: the call page's plot by turn and the escalated filter.

The calls are made by the real flow engine and scorer and written through the real store."""

from __future__ import annotations

import re

import aiohttp

from ivr.store.writer import CallRecorder, EventWriter
from ivr.testing.distress import distress_call
from ivr.testing.web_harness import WebServer, login

PLAN = """
id: hotline
languages: [en-US]
start: menu
nodes:
  menu:
    ask:
      prompt: {en-US: "Say balance or agent."}
      dtmf: {"1": balance, "0": agent}
      phrases: {balance: {en-US: [balance]}, agent: {en-US: [agent]}}
      retries: 2
  balance:
    say: {en-US: "Your balance is fine."}
    next: menu
  agent:
    queue: {name: customer_service, priority: 1}
"""
ANGRY = "This is the fifth time I call, I will complain to the regulator! My balance!"


async def stored_call(server: WebServer, call_id: str, lines: list[str]) -> None:
    """One call through the engine, its row and events written by the store's writer."""
    writer = EventWriter(server.engine)
    recorder = CallRecorder(writer, call_id)
    recorder.start(transport="fake", route="hotline", caller="+15550001111",
                   dialplan_id="hotline")
    call = await distress_call(PLAN, lines, recorder)
    target = call.transferred
    recorder.update(outcome="queued", queue=target.name if target else None,
                    priority=target.priority if target else None)
    assert await writer.flush() and writer.rejected == 0


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_call_page_plots_distress_by_turn_with_the_signals(server: WebServer) -> None:
    angry, calm = "a0" * 16, "c0" * 16
    await stored_call(server, angry, ["balance", ANGRY])
    await stored_call(server, calm, ["balance", "agent"])
    async with client() as http:
        await login(http, server.base, "sam")
        async with http.get(f"{server.base}/calls/{angry}") as resp:
            assert resp.status == 200
            html = await resp.text()
        async with http.get(f"{server.base}/calls/{calm}") as resp:
            calm_html = await resp.text()
        async with http.get(f"{server.base}/calls/{server.card_call}") as resp:
            unscored = await resp.text()
    svg = html[html.index("<svg"):html.index("</svg>")]
    circles = re.findall(r'<circle class="turn( escalated)?"', svg)
    assert circles == ["", " escalated"]  # two turns; the second escalated the call
    assert "Distress by turn" in html and "逐轮情绪" in html
    assert "complaint/regulator threat" in html and "投诉/监管威胁" in html
    assert "Escalated" in html and "sent to senior_agents" in html and "已升级" in html
    assert "senior_agents (priority 3)" in html
    assert "<svg" in calm_html and "Not escalated" in calm_html
    assert "<svg" not in unscored and "No caller turn was scored" in unscored


async def test_call_list_filters_escalated_calls(server: WebServer) -> None:
    angry, calm = "a1" * 16, "c1" * 16
    await stored_call(server, angry, [ANGRY])
    await stored_call(server, calm, ["agent"])
    everyone = {angry, calm, server.card_call, server.other_call}
    async with client() as http:
        await login(http, server.base, "sam")
        for query, expected in (("", everyone), ("?escalated=1", {angry}),
                                ("?escalated=0", everyone - {angry}),
                                ("?escalated=1&caller=1111", {angry})):
            async with http.get(f"{server.base}/calls{query}") as resp:
                assert resp.status == 200
                html = await resp.text()
            assert {c for c in everyone if f"/calls/{c}" in html} == expected, query
        assert 'option value="1" selected' in html
        for bad in ("yes", "2", "true"):
            async with http.get(f"{server.base}/calls?escalated={bad}") as resp:
                assert resp.status == 400
                assert "Escalated must be 1" in await resp.text()
        async with http.get(f"{server.base}/calls?escalated=x",
                            headers={"Accept": "application/json"}) as resp:
            assert resp.status == 400
