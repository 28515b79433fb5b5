"""The dialplan editor's API (admin): live checks with `ivr dialplan check`'s FILE:LINE
messages, publish, rollback, the simulator, audit rows, and who may do what."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from ivr.dialplans import check_files, publish
from ivr.flow.loader import load_text
from ivr.store.repo import DialplanRepository
from ivr.testing.web_harness import WebServer, login

ROOT = Path(__file__).resolve().parents[2]
HOTLINE = (ROOT / "dialplans" / "hotline.yaml").read_text(encoding="utf-8")
TYPO = HOTLINE.replace("      timeout: 2\n      retries: 0\n", "      timeout: two\n      retries: 0\n", 1)


def client() -> aiohttp.ClientSession:
    """A browser-like client: keeps cookies for 127.0.0.1."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def published(server: WebServer) -> DialplanRepository:
    repo = DialplanRepository(server.engine)
    await publish(repo, ROOT / "dialplans" / "hotline.yaml")
    return repo


async def post(http: aiohttp.ClientSession, url: str, body: dict[str, Any],
               csrf: str | None) -> tuple[int, Any]:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    async with http.post(url, json=body, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_check_shows_the_cli_messages_then_publish_and_rollback(
        server: WebServer, tmp_path: Path) -> None:
    repo = await published(server)
    api = f"{server.base}/api/dialplans/hotline"
    async with client() as http:
        csrf = (await login(http, server.base, "ada")).csrf
        status, body = await post(http, f"{api}/check", {"text": TYPO}, csrf)
        assert status == 200 and body["ok"] is False
        (tmp_path / "hotline.yaml").write_text(TYPO, encoding="utf-8")
        _, cli = check_files([tmp_path / "hotline.yaml"])
        expected = [str(p).replace(str(tmp_path / "hotline.yaml"), "hotline.yaml") for p in cli]
        assert [p["text"] for p in body["problems"]] == expected
        line = TYPO.splitlines().index("      timeout: two") + 1
        assert [p["line"] for p in body["problems"]] == [line]
        assert "choose_language.ask.timeout" in body["problems"][0]["message"]
        assert "+      timeout: two" in body["diff"]

        # Malformed text is refused by publish itself, not only by the page.
        status, body = await post(http, f"{api}/publish", {"text": TYPO}, csrf)
        assert status == 422 and body["problems"][0]["line"] == line
        assert [v.version for v in await repo.history("hotline")] == [1]
        status, body = await post(http, f"{api}/publish", {"text": "id: hotline\nnodes: [\n"},
                                  csrf)
        assert status == 422 and body["problems"][0]["text"].startswith("hotline.yaml:")
        # Another dialplan's id is not published from this page.
        status, body = await post(http, f"{api}/publish",
                                  {"text": HOTLINE.replace("id: hotline", "id: other", 1)}, csrf)
        assert status == 422 and "keep the id" in body["problems"][0]["message"]

        edited = HOTLINE.replace("Welcome to Acme Pay.", "Welcome to Acme Pay, edited.", 1)
        status, body = await post(http, f"{api}/check", {"text": edited}, csrf)
        assert body["ok"] is True and body["changed"] is True and body["live_version"] == 1
        status, body = await post(http, f"{api}/publish", {"text": edited, "note": "greeting"},
                                  csrf)
        assert (status, body["version"], body["unchanged"]) == (200, 2, False)
        live = {v.dialplan_id: v for v in await repo.live()}["hotline"]
        assert live.version == 2 and "edited" in live.source and "web:ada" in (live.note or "")

        async with http.post(f"{server.base}/admin/dialplans/hotline/rollback",
                             data={"csrf": csrf, "to": "1"}) as resp:
            assert resp.status == 200 and "Rolled back" in await resp.text()
        live = {v.dialplan_id: v for v in await repo.live()}["hotline"]
        assert live.version == 3 and live.source == HOTLINE
    rows = await server.audit.list(action="dialplan.")
    assert [(r.action, r.actor, r.outcome) for r in reversed(rows)] == [
        ("dialplan.publish", "web:ada", "refused"), ("dialplan.publish", "web:ada", "refused"),
        ("dialplan.publish", "web:ada", "refused"), ("dialplan.publish", "web:ada", "ok"),
        ("dialplan.rollback", "web:ada", "ok")]
    assert rows[1].details["version"] == 2 and rows[0].details["version"] == 3


async def test_simulator_walks_the_edited_text_with_prompts_in_each_language(
        server: WebServer) -> None:
    await published(server)
    edited = HOTLINE.replace("For English, press 1.", "For English, press one.", 1)
    async with client() as http:
        csrf = (await login(http, server.base, "ada")).csrf
        status, body = await post(http, f"{server.base}/api/dialplans/hotline/simulate",
                                  {"text": edited, "inputs": "2\n3\n", "language": "en-US"},
                                  csrf)
    assert status == 200, body
    sim = body["simulation"]
    assert [s["node"] for s in sim["steps"]][:4] == ["welcome", "choose_language",
                                                     "use_chinese", "main_menu"]
    assert (sim["outcome"], sim["queue"]) == ("queued", "card_services")
    choose = sim["steps"][1]
    assert choose["caller"] == ["keys 2"]
    assert choose["prompts"] == {"en-US": ["For English, press one."], "zh-CN": ["普通话请按2。"]}
    # After choosing Mandarin the caller hears Mandarin.
    assert {h["language"] for h in sim["steps"][3]["heard"]} == {"zh-CN"}


async def test_who_may_do_what(server: WebServer) -> None:
    await published(server)
    api = f"{server.base}/api/dialplans/hotline"
    text = {"text": HOTLINE.replace("Welcome to Acme Pay.", "Hi.", 1)}
    async with client() as anon:
        status, _ = await post(anon, f"{api}/publish", text, None)
        assert status == 403  # no session, so no CSRF token can be right
    for name in ("sam", "otto", "rita"):  # supervisor, auditor, reviewer
        async with client() as http:
            csrf = (await login(http, server.base, name)).csrf
            for action in ("check", "simulate", "publish"):
                status, _ = await post(http, f"{api}/{action}", text, csrf)
                assert status == 403, (name, action)
            async with http.get(f"{server.base}/admin/dialplans/hotline") as resp:
                assert resp.status == 403
            async with http.post(f"{server.base}/admin/dialplans/hotline/rollback",
                                 data={"csrf": csrf}) as resp:
                assert resp.status == 403
    async with client() as http:
        csrf = (await login(http, server.base, "ada")).csrf
        for action in ("check", "simulate", "publish"):  # no CSRF token, or a wrong one
            assert (await post(http, f"{api}/{action}", text, None))[0] == 403
            assert (await post(http, f"{api}/{action}", text, "x" * 43))[0] == 403
        async with http.post(f"{server.base}/admin/dialplans/hotline/rollback",
                             data={"to": "1"}) as resp:
            assert resp.status == 403
        # An admin cannot replay recordings nor decide phone changes.
        assert server.recording is not None
        async with http.get(f"{server.base}/recordings/{server.recording.id}/audio",
                            params={"reason": "curious"}) as resp:
            assert resp.status == 403
        async with http.get(f"{server.base}/review") as resp:
            assert resp.status == 403
        async with http.post(f"{server.base}/review/1",
                             data={"csrf": csrf, "decision": "approve"}) as resp:
            assert resp.status == 403
    assert [v.version for v in await DialplanRepository(server.engine).history("hotline")] == [1]


async def test_the_editor_holds_text_to_the_dialplan_limits(server: WebServer) -> None:
    await published(server)
    laughs = ["id: hotline", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    laughs += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 8)}]" for i in range(1, 9)]
    bomb = "\n".join(laughs) + "\n"
    too_big = HOTLINE + "#" * 2_000_000 + "\n"  # over dialplans.max_bytes, under the body cap
    async with client() as http:
        csrf = (await login(http, server.base, "ada")).csrf
        for text in (bomb, too_big):
            status, body = await post(http, f"{server.base}/api/dialplans/hotline/check",
                                      {"text": text}, csrf)
            assert status == 200 and body["ok"] is False, body
            loaded, cli = load_text(text, "hotline.yaml")
            assert loaded is None and [p["text"] for p in body["problems"]] == [
                str(p) for p in cli]
        async with http.post(f"{server.base}/api/dialplans/hotline/check",
                             data=b'{"text": "' + b"x" * 4_200_000 + b'"}',
                             headers={"X-CSRF-Token": csrf,
                                      "Content-Type": "application/json"}) as resp:
            assert resp.status == 413


async def test_a_busy_editor_says_so_instead_of_queueing(server: WebServer) -> None:
    from ivr.web.editor import MAX_WAITING, WORK

    await published(server)
    assert server.app is not None
    slots = server.app[WORK]
    for _ in range(MAX_WAITING):  # every slot taken, as by checks in flight
        await slots.acquire()
    try:
        async with client() as http:
            csrf = (await login(http, server.base, "ada")).csrf
            async with http.post(f"{server.base}/api/dialplans/hotline/check",
                                 json={"text": HOTLINE}, headers={"X-CSRF-Token": csrf}) as resp:
                assert resp.status == 503 and resp.headers["Retry-After"] == "1"
                assert (await resp.json())["error"]["code"] == "web-busy"
    finally:
        for _ in range(MAX_WAITING):
            slots.release()
    async with client() as http:
        csrf = (await login(http, server.base, "ada")).csrf
        status, body = await post(http, f"{server.base}/api/dialplans/hotline/check",
                                  {"text": HOTLINE}, csrf)
        assert status == 200 and body["ok"] is True
