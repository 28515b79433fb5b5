"""Questions answered by voice: ``ask`` with phrases and ``collect`` of spoken digits/amounts.

The engine hands a question here when the caller's language has a recogniser; keys keep
working throughout. No-input and no-match have their prompts and retries; when the voice
attempts run out the caller gets one keypad-only attempt (the keypad menu), then the
question's fallback (an agent); a caller who never answered at all goes straight to the
fallback, as keys were armed throughout. Later attempts ask the question's ``reprompt``
(a short version of a long menu) when it has one. Speech errors (busy decoders, a broken model) go straight
to the keypad: the caller never waits in silence. ``secret`` collects never come here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ivr.events import EventKind
from ivr.flow import intents, schema
from ivr.flow.context import NodeContext, Outcome
from ivr.flow.keypad import ask_keys, collect_keys
from ivr.nlu.api import Understander
from ivr.nlu.phrases import PhraseMatcher
from ivr.speech.asr import Transcript
from ivr.speech.endpoint import EndpointConfig
from ivr.speech.listening import Heard, Listener, ListenOptions
from ivr.speech.numbers import parse_amount, parse_digits
from ivr.speech.say import say_amount, say_digits

if TYPE_CHECKING:
    from ivr.flow.distress import CallDistress

ALL_KEYS = "0123456789*#"
_PHRASES = PhraseMatcher()
CONFIRM = {
    "en-US": ("I heard {value}. If that is right, say yes or press 1. "
              "Otherwise, say no or press 2."),
    "zh-CN": "您说的是{value}。正确请说“是”或按1，不正确请说“不是”或按2。",
}
YES_NO = {
    "en-US": {"yes": ["yes", "yeah", "correct", "right", "that's right", "yep"],
              "no": ["no", "nope", "wrong", "not right", "incorrect"]},
    "zh-CN": {"yes": ["是", "对", "正确", "没错", "是的"], "no": ["不是", "不对", "错", "不正确"]},
}


@dataclass
class VoiceConfig:
    """What the engine needs to ask by voice (wired in ``ivr.app``)."""

    listener: Listener
    understander: Understander = field(default_factory=PhraseMatcher)
    endpoint: EndpointConfig = field(default_factory=EndpointConfig)
    min_confidence: dict[str, float] = field(default_factory=dict)
    intent_bands: Callable[[str], tuple[float, float]] | None = None
    """Per language (reject_below, confirm_below) for open questions (the intent model's)."""
    intent_timeout: float = 2.0


class VoiceQuestions:
    """The voice side of one engine (one call)."""

    def __init__(self, ctx: NodeContext, config: VoiceConfig,
                 distress: CallDistress | None = None) -> None:
        self.ctx = ctx
        self.config = config
        self.distress = distress

    @property
    def language(self) -> str:
        return self.ctx.language

    def _usable(self, body: schema.Voice) -> bool:
        return self.config.listener.available(self.language)

    def _endpoint(self, body: schema.Voice) -> EndpointConfig:
        base = self.config.endpoint
        over = body.endpointing
        if over is None:
            return base
        values = {k: v for k, v in over.model_dump().items() if v is not None}
        merged = {**{k: getattr(base, k) for k in ("end_silence", "no_input", "max_utterance",
                                                   "min_speech", "speech_gap")}, **values}
        merged["pause"] = min(base.pause, merged["end_silence"])
        merged["complete_silence"] = min(max(base.complete_silence, merged["pause"]),
                                         merged["end_silence"])
        return EndpointConfig(**merged)

    async def _prompts(self, reprompt: dict[str, str] | None, prompt: dict[str, str]) -> list[Any]:
        out = []
        for text in (reprompt, prompt):
            if text is not None:
                p = await self.ctx.prompt(text)
                self.ctx.events.event(EventKind.PROMPT, node=None, text=p.text, language=p.language)
                out.append(p)
        return out

    def _turn(self, node_id: str, attempt: int, heard: Heard, result: str, **extra: Any) -> None:
        t = heard.transcript
        self.ctx.events.event(
            EventKind.TURN, node=node_id, attempt=attempt, mode=heard.mode, result=result,
            transcript=t.text if t else None, engine=t.engine if t else None,
            confidence=t.confidence if t else None, end_to_final_ms=heard.end_to_final_ms,
            decode_ms=round(t.decode_seconds * 1000, 1) if t else None,
            audio_seconds=t.audio_seconds if t else None, barged_in=heard.barged_in,
            language=self.language, error=heard.error, **extra)
        if self.distress is not None:
            self.distress.caller_turn(node_id, heard, extra.get("choice"))

    def _complete(self, choices: dict[str, list[str]]) -> Callable[[Transcript], bool]:
        """A whole answer: a confident transcript that contains one option's phrase word for
        word (the caller need not wait out the end-of-speech silence)."""
        floor = self.config.min_confidence.get(self.language, 0.0)
        language = self.language

        def complete(transcript: Transcript) -> bool:
            if transcript.confidence < floor or not transcript.text.strip():
                return False
            match = _PHRASES.match(transcript.text, choices, language)
            return match is not None and match.score >= 1.0
        return complete

    def _confident(self, heard: Heard) -> bool:
        t = heard.transcript
        return t is not None and t.confidence >= self.config.min_confidence.get(self.language, 0.0)

    # ask -----------------------------------------------------------------------------
    async def on_ask(self, node_id: str, node: schema.Node) -> str | Outcome | None:
        """Run an ask by voice; None when it is keypad-only (the engine asks then)."""
        ask = node.ask
        assert ask is not None
        choices = {t: p[self.language] for t, p in ask.phrases.items() if p.get(self.language)}
        if ask.intents:
            choices = intents.choices_for(ask, choices)
        if not choices or ask.all_languages or not self._usable(ask):
            return None
        timeout, retries = self.ctx.retries(ask)
        # Every key is armed: a key that is no option must be heard (and re-prompted), not
        # silently dropped by Asterisk.
        options = ListenOptions(keys=ALL_KEYS, key_timeout=timeout, endpoint=self._endpoint(ask),
                                phrases=tuple(p for ps in choices.values() for p in ps),
                                barge_in=ask.barge_in, complete=self._complete(choices))
        reprompt: dict[str, str] | None = None
        question, silent = ask.prompt, True
        for attempt in range(1, retries + 2):
            pending, self.ctx.state.pending_key = self.ctx.state.pending_key, None
            heard = Heard("dtmf", pending) if pending else await self.config.listener.ask(
                self.ctx.call, await self._prompts(reprompt, question), self.language,
                options)
            if heard.error:
                self._turn(node_id, attempt, heard, "error")
                silent = False
                break
            if ask.intents and heard.mode == "speech":
                target, kind = await intents.route(self, node_id, ask, heard, choices)
            else:
                target, kind = self._choose(heard, ask, choices)
            self._turn(node_id, attempt, heard, "match" if target else kind, choice=target)
            if target is not None:
                kind_done = EventKind.DTMF if heard.mode == "dtmf" else EventKind.SPEECH
                self.ctx.events.event(kind_done, node=node_id, attempt=attempt, target=target,
                                         **({"digits": heard.digits} if heard.digits else {}))
                return target
            self.ctx.events.event(kind, node=node_id, attempt=attempt)
            reprompt = self.ctx.reprompt(ask, kind)
            question, silent = ask.reprompt or ask.prompt, silent and kind == EventKind.NO_INPUT
        if silent:  # the keypad menu again would only keep a silent caller from an agent
            return self.ctx.exhausted(node_id, ask.fallback)
        self.ctx.events.event(EventKind.KEYPAD_FALLBACK, node=node_id)
        target = await ask_keys(self.ctx, node_id, ask, ("keypad",), timeout=timeout,
                                reprompt=reprompt, digits_in_misses=False)
        return target if target is not None else self.ctx.exhausted(node_id, ask.fallback)

    def _choose(self, heard: Heard, ask: schema.Ask, choices: dict[str, list[str]],
                ) -> tuple[str | None, EventKind]:
        if heard.mode == "dtmf":
            return ask.dtmf.get(heard.digits), EventKind.NO_MATCH
        if heard.no_input or heard.transcript is None:
            return None, EventKind.NO_INPUT
        if not self._confident(heard):
            return None, EventKind.NO_MATCH
        match = self.config.understander.match(heard.transcript.text, choices, self.language,
                                               keys=ask.dtmf)
        return (match.choice if match else None), EventKind.NO_MATCH

    # collect ---------------------------------------------------------------------------
    async def on_collect(self, node_id: str, node: schema.Node) -> str | Outcome | None:
        """Run a collect by voice; None when it is keypad-only (secret, voice off, no ASR)."""
        col = node.collect
        assert col is not None and node.next is not None
        if col.secret or not col.voice or not self._usable(col):
            return None
        timeout, retries = self.ctx.retries(col)
        options = ListenOptions(keys=ALL_KEYS, max_digits=col.max_length, key_timeout=timeout,
                                endpoint=self._endpoint(col), barge_in=col.barge_in)
        reprompt: dict[str, str] | None = None
        question = col.prompt
        for attempt in range(1, retries + 2):
            heard = await self.config.listener.ask(
                self.ctx.call, await self._prompts(reprompt, question), self.language,
                options)
            if heard.error:
                self._turn(node_id, attempt, heard, "error")
                break
            value = self._value(heard, col)
            kind = EventKind.NO_INPUT if heard.no_input else EventKind.NO_MATCH
            if value is not None and heard.mode == "speech" and col.read_back and (
                    not await self._confirm(node_id, value, col)):
                value, kind = None, EventKind.REJECTED
            self._turn(node_id, attempt, heard, "match" if value is not None else kind)
            if value is not None:
                return self._store(node_id, col, value, node.next, heard.mode)
            self.ctx.events.event(kind, node=node_id, attempt=attempt)
            reprompt = self.ctx.reprompt(
                col, EventKind.NO_INPUT if kind == EventKind.NO_INPUT else EventKind.NO_MATCH)
            question = col.reprompt or col.prompt
        self.ctx.events.event(EventKind.KEYPAD_FALLBACK, node=node_id)
        value = await collect_keys(self.ctx, node_id, col, ("keypad",), timeout=timeout,
                                   value=lambda digits: self._value(Heard("dtmf", digits), col),
                                   reprompt=reprompt, report_misses=False)
        if value is not None:
            return self._store(node_id, col, value, node.next, "dtmf")
        return self.ctx.exhausted(node_id, col.fallback)

    def _value(self, heard: Heard, col: schema.Collect) -> str | None:
        """The validated value the caller gave, or None."""
        if heard.mode == "dtmf":
            raw = heard.digits.replace("*", ".") if col.amount else heard.digits
        elif heard.transcript is not None and not heard.transcript.empty and self._confident(
                heard):
            text = heard.transcript.text
            if col.amount:
                amount = parse_amount(text, self.language)
                raw = str(amount) if amount is not None else ""
            else:
                raw = parse_digits(text, self.language) or ""
        else:
            return None
        if col.amount:
            try:
                ok = Decimal(raw) > 0 and re.fullmatch(r"\d+(\.\d{1,2})?", raw) is not None
            except ArithmeticError:
                ok = False
            return raw if ok else None
        valid = col.min_length <= len(raw) <= col.max_length and raw.isdigit() and (
            col.pattern is None or re.fullmatch(col.pattern, raw) is not None)
        return raw if valid else None

    async def _confirm(self, node_id: str, value: str, col: schema.Collect) -> bool:
        lang = self.language
        said = say_amount(value, lang) if col.amount else say_digits(value, lang)
        text = CONFIRM.get(lang, CONFIRM["en-US"]).format(value=said)
        prompt = await self.ctx.prompts.prompt(text, lang)
        self.ctx.events.event(EventKind.READ_BACK, node=node_id)
        yes_no = YES_NO.get(lang, YES_NO["en-US"])
        options = ListenOptions(keys="12", key_timeout=5.0, endpoint=self.config.endpoint,
                                phrases=tuple(yes_no["yes"] + yes_no["no"]))
        heard = await self.config.listener.ask(self.ctx.call, [prompt], lang, options)
        if heard.mode == "dtmf":
            return heard.digits == "1"
        if heard.transcript is None or heard.no_input:
            return False
        match = self.config.understander.match(heard.transcript.text, yes_no, lang)
        return match is not None and match.choice == "yes"

    def _store(self, node_id: str, col: schema.Collect, value: str, next_node: str,
               mode: str) -> str:
        self.ctx.state.variables[col.into] = value
        self.ctx.events.event(EventKind.COLLECTED, node=node_id, var=col.into, digits=value, mode=mode)
        return next_node
