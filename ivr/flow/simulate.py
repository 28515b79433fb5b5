"""The dialplan simulator: the path a call would take, node by node, for typed caller input.

It runs the real :class:`~ivr.flow.engine.FlowEngine` on a :class:`SimulatedCall`, a Call
whose caller answers each question from a script: keys (``1``, ``1234#``), words ("I lost my
card", understood by the real intent model through :class:`TypedListener`) or silence. When
the script runs out the simulated caller hangs up, so a path always ends. Nothing is played
or recorded, and nothing is stored; secrets typed for ``secret`` collects are never echoed.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ivr.audio.frames import AudioChunk
from ivr.emotion.types import EmotionScorer
from ivr.errors import CallHangup, IvrError
from ivr.events import EventKind
from ivr.flow import schema
from ivr.flow.engine import FlowEngine, PublishedPlan
from ivr.flow.voice import VoiceConfig
from ivr.nlu.api import Understander
from ivr.nlu.phrases import PhraseMatcher
from ivr.platform.api import Platform
from ivr.security.api import Verifier
from ivr.speech.asr import Transcript
from ivr.speech.listening import Heard, ListenOptions
from ivr.telephony.call import (
    CallCapabilities,
    CallInfo,
    DtmfResult,
    PlayResult,
    Prompt,
    QueueTarget,
    RecordResult,
)

MAX_INPUTS = 50
"""Caller inputs one simulation takes (more are refused)."""
MAX_INPUT_CHARS = 200
KEYS = re.compile(r"[0-9*#]+")
SILENCE = ("", "(silence)", "-")


@dataclass(frozen=True, slots=True)
class CallerInput:
    """One answer of the simulated caller: keys, words, or silence (both empty)."""

    keys: str = ""
    words: str = ""

    @classmethod
    def parse(cls, line: str) -> CallerInput:
        """``1`` or ``1234#``: keys; empty, ``-`` or ``(silence)``: silence; else words."""
        text = line.strip()
        if text.lower() in SILENCE:
            return cls()
        if KEYS.fullmatch(text.replace(" ", "")):
            return cls(keys=text.replace(" ", ""))
        return cls(words=text)

    def shown(self, secret: bool = False) -> str:
        if self.keys:
            return "keys " + ("•" * len(self.keys) if secret else self.keys)
        return f'says "{self.words}"' if self.words else "silence"


def parse_inputs(text: str) -> list[CallerInput]:
    """One input per line; raises ``ValueError`` with what to fix."""
    lines = text.splitlines()
    if len(lines) > MAX_INPUTS:
        raise ValueError(f"at most {MAX_INPUTS} caller inputs, one per line")
    if any(len(line) > MAX_INPUT_CHARS for line in lines):
        raise ValueError(f"an input line is longer than {MAX_INPUT_CHARS} characters")
    return [CallerInput.parse(line) for line in lines]


@dataclass
class Step:
    """One node on the simulated path."""

    node: str
    kind: str
    heard: list[tuple[str, str]] = field(default_factory=list)
    """(language, text) of every prompt the caller heard in this node."""
    prompts: dict[str, list[str]] = field(default_factory=dict)
    """The node's own prompt texts in every language of the dialplan."""
    caller: list[str] = field(default_factory=list)
    """What the simulated caller did here (secrets masked)."""
    notes: list[str] = field(default_factory=list)
    """What the engine decided here (no match, intent, branch, transfer…)."""


@dataclass
class Simulation:
    """A simulated call: its path and how it ended."""

    language: str
    steps: list[Step]
    outcome: str
    queue: str | None = None
    error: str | None = None
    unused_inputs: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"language": self.language, "outcome": self.outcome, "queue": self.queue,
                "error": self.error, "unused_inputs": self.unused_inputs,
                "steps": [{"node": s.node, "kind": s.kind, "caller": s.caller,
                           "heard": [{"language": lang, "text": t} for lang, t in s.heard],
                           "prompts": s.prompts, "notes": s.notes} for s in self.steps]}


class SimulatedCall:
    """A Call answered from a script of :class:`CallerInput`; keys arm and barge in as on a
    phone, words reach the flow only through :class:`TypedListener`."""

    def __init__(self, inputs: Sequence[CallerInput], info: CallInfo) -> None:
        self.info = info
        self.caps = CallCapabilities(dtmf=True, transfer=True)
        self._inputs = list(inputs)
        self.on_input: Callable[[CallerInput, bool], None] = lambda _i, _s: None
        self.on_prompt: Callable[[Prompt], None] = lambda _p: None
        self.transferred: QueueTarget | None = None
        self.ran_out = False

    @property
    def left(self) -> int:
        return len(self._inputs)

    def take(self, *, secret: bool = False) -> CallerInput:
        """The caller's next answer; with none left the caller hangs up."""
        if not self._inputs:
            self.ran_out = True
            raise CallHangup("the simulated caller has no more input")
        item = self._inputs.pop(0)
        self.on_input(item, secret)
        return item

    def _next_keys(self, armed: str) -> bool:
        return bool(self._inputs and self._inputs[0].keys and self._inputs[0].keys[0] in armed)

    async def answer(self) -> None:
        return None

    async def play(self, prompt: Prompt, *, barge_in_keys: str = "") -> PlayResult:
        self.on_prompt(prompt)
        if barge_in_keys and self._next_keys(barge_in_keys):
            keys = self._inputs[0].keys
            self.take()
            if len(keys) > 1:
                self._inputs.insert(0, CallerInput(keys=keys[1:]))
            return PlayResult(interrupted_by=keys[0])
        return PlayResult()

    async def collect_dtmf(self, prompt: Prompt | None, *, max_digits: int, timeout: float,
                           terminator: str = "#", secret: bool = False) -> DtmfResult:
        if prompt is not None:
            self.on_prompt(prompt)
        item = self.take(secret=secret)
        if not item.keys:  # words on a keypad-only question are not heard
            return DtmfResult("", timed_out=True)
        digits = item.keys.split(terminator, 1)[0][:max_digits]
        return DtmfResult(digits, timed_out=not (terminator in item.keys
                                                 or len(digits) == max_digits))

    async def record(self, *, max_seconds: float, silence_seconds: float,
                     escape_keys: str = "") -> RecordResult:
        item = self.take()
        if item.keys and item.keys[0] in escape_keys:
            return RecordResult(None, key=item.keys[0])
        return RecordResult(None)

    def audio_in(self) -> AsyncIterator[AudioChunk]:
        raise IvrError("flow-simulated", "a simulated call has no audio")

    async def stop_playback(self) -> None:
        return None

    async def transfer(self, target: QueueTarget) -> None:
        self.transferred = target

    async def hangup(self) -> None:
        return None

    async def set_outcome(self, outcome: str, queue: str | None) -> None:
        return None


class TypedListener:
    """A Listener whose caller types: keys are keys, words are a confident transcript."""

    def available(self, language: str) -> bool:
        return True

    async def ask(self, call: Any, prompts: Sequence[Prompt], language: str,
                  options: ListenOptions) -> Heard:
        assert isinstance(call, SimulatedCall)
        for prompt in prompts:
            call.on_prompt(prompt)
        item = call.take()
        if item.keys:
            return Heard("dtmf", item.keys[:options.max_digits])
        if item.words:
            return Heard("speech", transcript=Transcript(item.words, 1.0, engine="typed"))
        return Heard("none")


class TextOnlyPrompts:
    """Prompts are not rendered in a simulation: the text is all the path shows."""

    async def prompt(self, text: str, language: str) -> Prompt:
        return Prompt(text=text, language=language, media="", prompt_id="")


def node_prompts(plan: schema.Dialplan, node_id: str) -> dict[str, list[str]]:
    """The node's own prompt texts per language of the plan (what a caller of each hears)."""
    node = plan.nodes[node_id]
    texts: list[dict[str, str] | None] = [node.say]
    for body in (node.ask, node.collect, node.queue, node.hangup):
        texts.append(getattr(body, "prompt", None))
    if node.verify is not None:
        texts.extend(text for _, text in node.verify.prompts)
    return {lang: [t[lang] for t in texts if t and t.get(lang)] for lang in plan.languages}


class _PathLog:
    """EventSink that folds events into steps."""

    def __init__(self, plan: schema.Dialplan) -> None:
        self.plan = plan
        self.steps: list[Step] = []

    def _step(self) -> Step | None:
        return self.steps[-1] if self.steps else None

    def event(self, kind: EventKind, node: str | None = None, **data: Any) -> None:
        if kind == EventKind.NODE_ENTERED and node is not None:
            self.steps.append(Step(node, str(data.get("node_kind", "")),
                                   prompts=node_prompts(self.plan, node)))
            return
        step = self._step()
        if step is None or kind in (EventKind.PROMPT, EventKind.TURN, EventKind.COLLECTED):
            return
        note = describe(kind, data)
        if note:
            step.notes.append(note)

    def prompt(self, prompt: Prompt) -> None:
        if (step := self._step()) is not None:
            step.heard.append((prompt.language, prompt.text))

    def caller(self, item: CallerInput, secret: bool) -> None:
        if (step := self._step()) is not None:
            step.caller.append(item.shown(secret))

    def start(self, **values: Any) -> None:
        return None

    def update(self, **values: Any) -> None:
        return None


def describe(kind: EventKind, data: dict[str, Any]) -> str:
    """A short line for what the engine decided (never a secret: events carry none)."""
    keep = {k: v for k, v in data.items()
            if k in ("target", "intent", "band", "confidence", "var", "queue", "priority",
                     "outcome", "result", "code", "open", "action", "status", "factor")
            and v is not None}
    details = ", ".join(f"{k}={v}" for k, v in keep.items())
    return f"{kind.value}{': ' + details if details else ''}"


@dataclass
class Simulator:
    """Runs simulations with the real engine and intent model; verification and self-service
    come from ``backends`` (a sandbox with the demo customers, never the live data)."""

    understander: Understander = field(default_factory=PhraseMatcher)
    intent_bands: Callable[[str], tuple[float, float]] | None = None
    default_queue: str = "customer_service"
    timeout: float = 10.0
    emotion: EmotionScorer | None = None

    async def run(self, plan: schema.Dialplan, inputs: Sequence[CallerInput], *,
                  language: str, caller: str = "+15551234567",
                  verifier: Verifier | None = None,
                  platform: Platform | None = None) -> Simulation:
        """Walk ``plan`` for one simulated caller of ``language`` (bounded in time)."""
        lang = language if language in plan.languages else plan.languages[0]
        info = CallInfo(call_id="sim-" + uuid.uuid4().hex[:12], transport="simulator",
                        route=plan.id, caller=caller, language=lang)
        call = SimulatedCall(inputs, info)
        log = _PathLog(plan)
        call.on_prompt, call.on_input = log.prompt, log.caller
        voice = VoiceConfig(listener=TypedListener(), understander=self.understander,
                            intent_bands=self.intent_bands)
        engine = FlowEngine(call, PublishedPlan.compile(plan, 0), TextOnlyPrompts(), log,
                            default_queue=self.default_queue, verifier=verifier,
                            voice=voice, platform=platform, emotion=self.emotion)
        result = Simulation(lang, log.steps, "failed")
        try:
            async with asyncio.timeout(self.timeout):
                outcome = await engine.run()
            result.outcome, result.queue = outcome.outcome, outcome.queue
        except CallHangup:
            result.outcome = "abandoned"
            result.error = ("the caller's inputs ran out here" if call.ran_out
                            else "the caller hung up")
        except TimeoutError:
            result.error = f"the simulation took more than {self.timeout:g} s"
        except IvrError as err:
            result.error = f"{err.code}: {err.message}"
        result.unused_inputs = call.left
        return result
