"""The fake Asterisk's scripted caller: keys, silence, speech and hang-up, in order.

Each action is taken by the next command that can take it (see :mod:`ivr.testing.agi_peer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DTMF_KEYS = "0123456789*#ABCD"


@dataclass(frozen=True, slots=True)
class Press:
    """The caller keys ``keys`` (0-9 * # A-D) during the next command that accepts them."""

    keys: str

    def __post_init__(self) -> None:
        if not self.keys or any(key not in DTMF_KEYS for key in self.keys):
            raise ValueError(f"not DTMF keys: {self.keys!r}")


@dataclass(frozen=True, slots=True)
class Silence:
    """The caller presses nothing during the next command that listens for keys."""


@dataclass(frozen=True, slots=True)
class HangUp:
    """The caller hangs up during the next command that plays a prompt or waits."""


@dataclass(frozen=True, slots=True)
class Speak:
    """The caller speaks ``wav`` (a WAV file) during the next RECORD FILE, which Asterisk
    writes to the path it was given; prompts before it play to the end."""

    wav: Path


Action = Press | Silence | HangUp | Speak


@dataclass
class CallerScript:
    """What the simulated caller does, consumed in order by commands that take caller input."""

    actions: list[Action] = field(default_factory=list)

    @classmethod
    def of(cls, *steps: str | Action | None) -> CallerScript:
        """``of("9", None, "1#", "hangup")``: Press("9"), Silence(), Press("1#"), HangUp()."""
        actions: list[Action] = []
        for step in steps:
            if step is None:
                actions.append(Silence())
            elif isinstance(step, str):
                actions.append(HangUp() if step == "hangup" else Press(step))
            else:
                actions.append(step)
        return cls(actions)
