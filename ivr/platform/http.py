"""A real payment platform over HTTP: ``POST {url}/actions/{action}`` with JSON.

Every attempt has a timeout; reads are retried with back-off; a circuit breaker stops calling
a backend that keeps failing (callers are queued at once instead of waiting).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from ivr.platform.api import ACTIONS, ActionRequest, ActionResult, PlatformError
from ivr.platform.breaker import CircuitBreaker, SharedBreaker
from ivr.platform.settings import HttpPlatformSettings
from ivr.store.shared import SharedState

_LOG = logging.getLogger(__name__)
OUTCOMES = {"ok", "not_found", "ambiguous", "invalid", "refused"}
NOT_RETRIED = {"block_card"}


class HttpPlatform:
    """``Platform`` over a JSON API."""

    def __init__(self, settings: HttpPlatformSettings,
                 clock: Callable[[], float] = time.monotonic,
                 shared: SharedState | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.breaker = SharedBreaker(
            CircuitBreaker(settings.breaker_failures, settings.breaker_reset_seconds),
            shared, "platform")
        """Shared by all instances through Redis when ``[redis] url`` is set."""
        self._session: aiohttp.ClientSession | None = None

    def _headers(self) -> dict[str, str]:
        if not self.settings.token_file:
            return {}
        token = Path(self.settings.token_file).read_text(encoding="utf-8").strip()
        return {"Authorization": f"Bearer {token}"}

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            s = self.settings
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(
                total=s.timeout, sock_connect=s.connect_timeout), headers=self._headers())
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def perform(self, request: ActionRequest) -> ActionResult:
        if request.action not in ACTIONS:
            return ActionResult("invalid", {"reason": "unknown_action"})
        attempts = 1 + (0 if request.action in NOT_RETRIED else self.settings.retries)
        last: Exception | None = None
        for attempt in range(attempts):
            if not await self.breaker.allow(self.clock()):
                raise PlatformError("platform-circuit-open", "the payment platform failed "
                                    "repeatedly; not calling it for a while")
            try:
                result = await self._once(request)
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as err:
                last = err
                await self.breaker.failure(self.clock())
                _LOG.warning("platform-attempt-failed: %s attempt %d: %s", request.action,
                             attempt + 1, type(err).__name__)
                if attempt + 1 < attempts:
                    await asyncio.sleep(self.settings.backoff * (2 ** attempt))
                continue
            await self.breaker.success()
            return result
        code = "platform-timeout" if isinstance(last, TimeoutError) else "platform-unavailable"
        raise PlatformError(code, f"{request.action} failed after {attempts} attempt(s): "
                            f"{type(last).__name__}") from last

    async def _once(self, request: ActionRequest) -> ActionResult:
        session = await self._client()
        body = {"params": dict(request.params), "customer_id": request.customer_id,
                "call_id": request.call_id}
        url = f"{self.settings.url.rstrip('/')}/actions/{request.action}"
        async with session.post(url, json=body) as resp:
            if resp.status >= 500 or resp.status == 429:
                raise aiohttp.ClientResponseError(resp.request_info, (), status=resp.status)
            data: Any = await resp.json(content_type=None)
        outcome = str(data["outcome"])
        if outcome not in OUTCOMES:
            raise ValueError(f"unexpected outcome {outcome!r}")
        values = data.get("values") or {}
        if not isinstance(values, dict):
            raise ValueError("values must be an object")
        return ActionResult(outcome, {str(k): str(v)[:200] for k, v in values.items()
                                      if not str(k).startswith("card_number")})
