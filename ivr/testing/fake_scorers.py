"""Distress scorers that misbehave, for tests that a scorer never breaks or delays a call."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ivr.emotion.types import Distress, Prosody, TurnInput


class BrokenScorer:
    """Raises on every turn, as a corrupt model or a bug would."""

    def score(self, turn: TurnInput, earlier: Sequence[Prosody] = ()) -> Distress:
        raise RuntimeError("the distress model is broken")


class StuckScorer:
    """Blocks until :meth:`release` (a scorer stuck on a starved CPU or a hung library)."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.started = threading.Event()

    def score(self, turn: TurnInput, earlier: Sequence[Prosody] = ()) -> Distress:
        self.started.set()
        self.released.wait(30)
        return Distress(1.0, 1.0, reasons=("too late",))

    def release(self) -> None:
        self.released.set()
