"""Distress by turn for the supervisor call page: scores, the signals that fired and the
escalation, from the call's stored ``distress`` and ``escalation`` events, laid out as a
small inline SVG plot (drawn by ``templates/_distress.html``, no JavaScript)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ivr.emotion.policy import DEFAULT_POLICY
from ivr.emotion.scorer import CUE_FIRES, VOICE_FIRES
from ivr.events import EventKind

WIDTH, HEIGHT = 640, 170
"""The plot's viewBox; scores run from 1 at ``TOP`` to 0 at ``BOTTOM``."""
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 14, 140
SIGNAL_LABELS = {
    "agent_repeat": ("repeated agent requests", "反复要求转人工"),
    "complaint": ("complaint/regulator threat", "投诉/监管威胁"),
    "fraud": ("fraud or theft", "欺诈或被盗"),
    "profanity": ("profanity", "粗话"),
    "urgency": ("urgency (money/family)", "紧急（钱款/家人）"),
    "repeat_calls": ("repeat contact", "多次来电"),
    "shouting": ("shouting (caps/!!)", "喊叫"),
    "negative": ("negative sentiment", "负面情绪"),
    "arousal": ("agitated voice", "语音激动"),
}
"""English and Chinese names of the signals a supervisor sees (others show their key)."""


@dataclass(frozen=True, slots=True)
class Signal:
    """One signal that fired on a turn."""

    name: str
    value: float
    en: str
    zh: str


@dataclass(frozen=True, slots=True)
class DistressTurn:
    """One scored caller turn, with where its point sits in the plot."""

    number: int
    node: str | None
    score: float
    confidence: float
    signals: tuple[Signal, ...]
    reasons: tuple[str, ...]
    """The scorer's reasons not already named by a signal (e.g. the voice's deltas)."""
    escalated: bool
    """This turn escalated the call."""
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class DistressPlot:
    """What ``_distress.html`` draws."""

    turns: tuple[DistressTurn, ...]
    escalation: dict[str, Any] | None
    """The escalation event's data (action, queue or boost, route, reasons), if any."""
    threshold_y: float
    threshold: float
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_x: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = BOTTOM

    @property
    def line(self) -> str:
        """The polyline through every turn's point."""
        return " ".join(f"{t.x:.1f},{t.y:.1f}" for t in self.turns)


def _y(score: float) -> float:
    return BOTTOM - max(0.0, min(1.0, score)) * (BOTTOM - TOP)


def fired(signals: dict[str, Any]) -> tuple[Signal, ...]:
    """The signals strong enough to count, strongest first (prosody deltas are shown
    through the voice's arousal, not one by one)."""
    out = []
    for name, value in signals.items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        if name == "arousal" and value >= VOICE_FIRES or (
                name in SIGNAL_LABELS and name != "arousal" and value >= CUE_FIRES):
            en, zh = SIGNAL_LABELS[name]
            out.append(Signal(name, round(float(value), 2), en, zh))
    return tuple(sorted(out, key=lambda s: -s.value))


def distress_plot(events: Sequence[Any]) -> DistressPlot | None:
    """The plot for a call's events (in sequence order); None when no turn was scored."""
    scored: list[tuple[Any, bool]] = []
    escalation: dict[str, Any] | None = None
    for event in events:
        if event.kind == EventKind.DISTRESS:
            scored.append((event, False))
        elif event.kind == EventKind.ESCALATION and escalation is None:
            escalation = dict(event.data or {})
            if scored:  # the turn scored just before it is the one that escalated
                scored[-1] = (scored[-1][0], True)
    if not scored:
        return None
    step = (WIDTH - LEFT - RIGHT) / max(1, len(scored) - 1) if len(scored) > 1 else 0.0
    turns = []
    for i, (event, escalated) in enumerate(scored):
        data = dict(event.data or {})
        score = float(data.get("score") or 0.0)
        signals = data.get("signals")
        signals = signals if isinstance(signals, dict) else {}
        x = LEFT + i * step if len(scored) > 1 else (LEFT + WIDTH - RIGHT) / 2
        shown = fired(signals)
        named = {s.en for s in shown}
        turns.append(DistressTurn(
            i + 1, event.node, round(score, 2), round(float(data.get("confidence") or 0.0), 2),
            shown, tuple(str(r) for r in data.get("reasons") or () if str(r) not in named),
            escalated, round(x, 1), round(_y(score), 1)))
    return DistressPlot(tuple(turns), escalation, round(_y(DEFAULT_POLICY.above), 1),
                        DEFAULT_POLICY.above)
