"""Supervisor pages and the replay endpoint over real HTTP."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import aiohttp

from ivr.testing.web_harness import WebServer, login


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def as_user(http: aiohttp.ClientSession, server: WebServer, name: str) -> str:
    """Log in; returns the session's CSRF token."""
    return (await login(http, server.base, name)).csrf


async def test_call_list_searches_by_caller_date_and_outcome(server: WebServer) -> None:
    async with client() as http:
        await login(http, server.base, "sam")
        for query, expected in (
            ("", {server.card_call, server.other_call}),
            ("?caller=4567", {server.card_call}),
            ("?caller=%2B49", {server.other_call}),
            ("?date=2026-11-20", {server.card_call}),
            ("?date=2026-11-19&outcome=self_served", {server.other_call}),
            ("?outcome=abandoned", set()),
            ("?caller=%25", set()),  # a LIKE wildcard is searched for literally
        ):
            async with http.get(f"{server.base}/calls{query}") as resp:
                html = await resp.text()
            shown = {c for c in (server.card_call, server.other_call) if f"/calls/{c}" in html}
            assert shown == expected, query
            if not expected:
                assert "No calls match" in html
        async with http.get(f"{server.base}/calls?date=yesterday") as resp:
            assert "Date must look like" in await resp.text()


async def test_call_page_shows_timeline_hides_secrets_and_escapes(server: WebServer) -> None:
    async with client() as http:
        await login(http, server.base, "sam")
        async with http.get(f"{server.base}/calls/{server.card_call}") as resp:
            html = await resp.text()
    assert "Welcome to Acme Pay." in html and "Pressed 3" in html
    assert "Entered pin — secret, not shown" in html
    assert "card_services (priority 7)" in html and "1:23" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert f'data-src="/recordings/{server.recording.id}/audio"' in html  # type: ignore[union-attr]


async def test_supervisor_streams_a_recording_and_it_is_audited(server: WebServer) -> None:
    assert server.recording is not None
    async with client() as http:
        token = await as_user(http, server, "sam")
        url = f"{server.base}/recordings/{server.recording.id}/audio"
        async with http.get(url, params={"t": token, "reason": "complaint 42"}) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "audio/wav"
            assert resp.headers["Transfer-Encoding"] == "chunked"
            assert "no-store" in resp.headers["Cache-Control"]
            body = await resp.read()
        async with http.head(url, params={"t": token}) as resp:
            assert resp.status == 405  # a HEAD must not decrypt
    with wave.open(io.BytesIO(body)) as wav:
        assert (wav.getframerate(), wav.getnframes()) == (8000, 24000)
    entries = await server.audit.list(action="recording.")
    assert [(e.actor, e.channel, e.subject, e.reason, e.outcome) for e in entries] == [
        ("web:sam", "127.0.0.1", server.recording.id, "complaint 42", "ok")]


async def test_default_reason_and_missing_token(server: WebServer) -> None:
    assert server.recording is not None
    async with client() as http:
        token = await as_user(http, server, "sam")
        url = f"{server.base}/recordings/{server.recording.id}/audio"
        async with http.get(url) as resp:
            assert resp.status == 403
        async with http.get(url, params={"t": token}) as resp:
            assert resp.status == 200
            await resp.read()
    entries = await server.audit.list(action="recording.")
    assert [(e.reason, e.outcome) for e in entries] == [
        ("supervisor replay", "ok"), ("missing or wrong page token: reload the call page",
                                      "bad-csrf")]


async def test_admin_and_auditor_cannot_replay(server: WebServer) -> None:
    assert server.recording is not None
    for name in ("ada", "otto"):
        async with client() as http:
            token = await as_user(http, server, name)
            async with http.get(f"{server.base}/recordings/{server.recording.id}/audio",
                                params={"t": token}) as resp:
                assert resp.status == 403
                assert resp.content_type == "application/json"
            async with http.get(f"{server.base}/calls/{server.card_call}") as resp:
                assert resp.status == 403
    async with aiohttp.ClientSession() as http, http.get(
            f"{server.base}/recordings/{server.recording.id}/audio") as resp:
        assert resp.status == 401
    entries = await server.audit.list(action="recording.")
    assert [(e.actor, e.outcome) for e in entries] == [("web:otto", "denied"),
                                                       ("web:ada", "denied")]


async def test_recording_errors_are_clear_and_never_partial(server: WebServer) -> None:
    assert server.recording is not None and server.library is not None
    rec = server.recording
    async with client() as http:
        token = await as_user(http, server, "sam")
        url = f"{server.base}/recordings/{rec.id}/audio"
        async with http.get(f"{server.base}/recordings/nope/audio", params={"t": token}) as resp:
            assert resp.status == 404
            assert (await resp.json())["error"]["code"] == "rec-not-found"
        server.library.break_recording(rec.id, before="rec-key-retired")
        async with http.get(url, params={"t": token}) as resp:
            assert resp.status == 409
            assert (await resp.json())["error"]["code"] == "rec-key-retired"
        # Authentication fails after one chunk: the stream is cut, not ended cleanly.
        server.library.break_recording(rec.id, after_chunks=1)
        async with http.get(url, params={"t": token}) as resp:
            assert resp.status == 200
            try:
                await resp.read()
            except aiohttp.ClientPayloadError:
                pass
            else:
                raise AssertionError("a damaged recording must not end like a whole one")


async def test_no_recording_store(db_url: str, password_hash: str) -> None:
    from ivr.testing.web_harness import make_server

    async for server in make_server(db_url, password_hash, store="none"):
        async with client() as http:
            await login(http, server.base, "sam")
            async with http.get(f"{server.base}/calls/{server.card_call}") as resp:
                assert "Recording replay is not set up on this server." in await resp.text()
            async with http.get(f"{server.base}/calls") as resp:
                assert "calls are listed without recordings" in await resp.text()


async def test_real_store_streams_the_imported_audio(db_url: str, password_hash: str,
                                                     tmp_path: Path) -> None:
    from ivr.testing.fake_recordings import tone_wav
    from ivr.testing.web_harness import make_server

    async for server in make_server(db_url, password_hash, store="real", folder=tmp_path):
        assert server.recording is not None
        async with client() as http:
            token = await as_user(http, server, "sam")
            async with http.get(f"{server.base}/recordings/{server.recording.id}/audio",
                                params={"t": token, "reason": "qa check"}) as resp:
                assert resp.status == 200
                body = await resp.read()
        with wave.open(io.BytesIO(body)) as got, wave.open(io.BytesIO(tone_wav(3.0))) as sent:
            assert got.readframes(got.getnframes()) == sent.readframes(sent.getnframes())
        entries = await server.audit.list(action="recording.decrypt", actor="web:sam")
        assert [(e.outcome, e.reason, e.channel) for e in entries] == [
            ("success", "qa check", "127.0.0.1"), ("started", "qa check", "127.0.0.1")]
