"""A thin ARI client over aiohttp: the REST calls Hotline makes and the events websocket.

Why our own: the Python ARI clients are few and unmaintained (ari-py is Python 2 era and
built on swagger-py; the asyncio forks wrap the same generated code); Hotline needs a dozen
REST calls, one websocket and strict timeouts, which aiohttp already gives. Every request has
a timeout; an answer that is not 2xx raises :class:`AriError` with the status (``ari-http``),
a connection problem ``ari-unreachable``. Bodies are logged never (they carry caller ids).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from ivr.errors import IvrError


class AriError(IvrError):
    """ARI said no (``status`` set) or could not be reached (``status`` None)."""

    area = "ari"

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(code, message)
        self.status = status


class AriClient:
    """REST and events for one Asterisk (``base`` is ``http://HOST:PORT``)."""

    def __init__(self, base: str, username: str, password: str, *, timeout: float = 5.0,
                 max_body: int = 4 * 1024 * 1024) -> None:
        self.base = base.rstrip("/")
        self._headers = {"Authorization": aiohttp.encode_basic_auth(username, password)}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_body = max_body
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, path: str, **params: str | int) -> Any:
        """``METHOD /ari/PATH?params``; the JSON body (None for 204)."""
        url = f"{self.base}/ari/{path.lstrip('/')}"
        query = {k: str(v) for k, v in params.items()}
        try:
            async with self._http().request(method, url, params=query) as resp:
                raw = await resp.content.read(self._max_body + 1)
                if resp.status >= 300:
                    raise AriError("ari-http", f"{method} /ari/{path.split('?')[0]} answered "
                                   f"{resp.status} {_reason(raw)}", resp.status)
        except AriError:
            raise
        except TimeoutError as err:
            raise AriError("ari-timeout", f"{method} /ari/{path} took too long") from err
        except (aiohttp.ClientError, OSError) as err:
            raise AriError("ari-unreachable", f"{method} /ari/{path}: {err!r}"[:300]) from err
        if len(raw) > self._max_body:
            raise AriError("ari-bad-reply", f"{method} /ari/{path}: reply too large")
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError as err:
            raise AriError("ari-bad-reply", f"{method} /ari/{path}: not JSON") from err

    async def events(self, app: str, heartbeat: float = 10.0) -> aiohttp.ClientWebSocketResponse:
        """Open the events websocket of ``app`` (HTTP Basic, as ``api_key`` would put the
        password into the URL)."""
        ws_url = self.base.replace("http", "ws", 1) + "/ari/events"
        try:
            return await self._http().ws_connect(
                ws_url, params={"app": app}, heartbeat=heartbeat, max_msg_size=1024 * 1024,
                timeout=aiohttp.ClientWSTimeout(ws_close=2.0))
        except aiohttp.WSServerHandshakeError as err:
            raise AriError("ari-http", f"events websocket refused: {err.status}",
                           err.status) from err
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise AriError("ari-unreachable", f"events websocket: {err!r}"[:300]) from err

    # The calls Hotline makes -------------------------------------------------------
    async def answer(self, channel: str) -> None:
        await self.request("POST", f"channels/{channel}/answer")

    async def set_variable(self, channel: str, name: str, value: str) -> None:
        await self.request("POST", f"channels/{channel}/variable", variable=name, value=value)

    async def continue_in_dialplan(self, channel: str, context: str, extension: str,
                                   priority: int) -> None:
        await self.request("POST", f"channels/{channel}/continue", context=context,
                           extension=extension, priority=priority)

    async def external_media(self, app: str, external_host: str, fmt: str = "ulaw") -> Any:
        return await self.request("POST", "channels/externalMedia", app=app,
                                  external_host=external_host, format=fmt,
                                  encapsulation="rtp", transport="udp", direction="both")

    async def create_bridge(self, name: str) -> Any:
        return await self.request("POST", "bridges", type="mixing", name=name)

    async def add_channels(self, bridge: str, channels: list[str]) -> None:
        await self.request("POST", f"bridges/{bridge}/addChannel", channel=",".join(channels))

    async def delete_channel(self, channel: str) -> None:
        await self.request("DELETE", f"channels/{channel}")

    async def delete_bridge(self, bridge: str) -> None:
        await self.request("DELETE", f"bridges/{bridge}")

    async def channels(self) -> list[Any]:
        body = await self.request("GET", "channels")
        return body if isinstance(body, list) else []

    async def bridges(self) -> list[Any]:
        body = await self.request("GET", "bridges")
        return body if isinstance(body, list) else []

    async def variable(self, channel: str, name: str) -> str | None:
        body = await self.request("GET", f"channels/{channel}/variable", variable=name)
        value = body.get("value") if isinstance(body, dict) else None
        return value if isinstance(value, str) else None


def _reason(raw: bytes) -> str:
    """ARI's own error message (``{"message": "Channel not in Stasis application"}``)."""
    try:
        body = json.loads(raw)
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return f"({str(message)[:120]})" if message else ""
