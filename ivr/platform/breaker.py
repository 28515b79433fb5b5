"""A circuit breaker (pure: the clock is passed in)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CircuitBreaker:
    """Opens after ``failures`` consecutive failures; after ``reset_seconds`` lets one trial
    through (half-open); a success closes it, a failure opens it again."""

    failures: int = 5
    reset_seconds: float = 30.0
    _count: int = 0
    _opened_at: float | None = None
    _trial: bool = False

    def state(self, now: float) -> str:
        if self._opened_at is None:
            return "closed"
        return "half_open" if now - self._opened_at >= self.reset_seconds else "open"

    def allow(self, now: float) -> bool:
        """May a request go out now?"""
        state = self.state(now)
        if state == "closed":
            return True
        if state == "half_open" and not self._trial:
            self._trial = True
            return True
        return False

    def success(self) -> None:
        self._count, self._opened_at, self._trial = 0, None, False

    def failure(self, now: float) -> None:
        self._count += 1
        if self._trial or self._count >= self.failures:
            self._opened_at, self._trial = now, False
