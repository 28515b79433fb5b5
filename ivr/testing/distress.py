"""Distressed (and calm) callers for tests: scripted voice turns through the real flow
engine and the real distress scorer, events into any sink (a list or the real store)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ivr.emotion.scorer import CueScorer
from ivr.events import EventSink
from ivr.flow.engine import FlowEngine, PublishedPlan
from ivr.flow.loader import load_text
from ivr.flow.voice import VoiceConfig
from ivr.nlu.api import Match
from ivr.nlu.phrases import PhraseMatcher
from ivr.speech.asr import Transcript
from ivr.speech.listening import Heard, ListenOptions
from ivr.telephony.call import Call, Prompt
from ivr.testing.fake_call import FakeCall
from ivr.testing.fakes import TextPrompts


@dataclass
class SpokenLines:
    """A ``Listener``: each voice question gets the caller's next line, as a recogniser
    would print it (None, or no line left: silence)."""

    lines: list[str | None]

    def available(self, language: str) -> bool:
        return True

    async def ask(self, call: Call, prompts: Sequence[Prompt], language: str,
                  options: ListenOptions) -> Heard:
        for prompt in prompts:
            await call.play(prompt)
        line = self.lines.pop(0) if self.lines else None
        if line is None:
            return Heard("none")
        return Heard("speech", transcript=Transcript(line, 0.9, engine="script"))


class KeywordIntents:
    """An ``Understander`` for open questions without a model: an intent when one of its
    keywords is in the words (``card_lost``: card; ``fraud_report``: fraud, scam), else the
    question's phrases."""

    KEYWORDS = {"card_lost": ("card",), "fraud_report": ("fraud", "scam"),
                "complaint": ("complain",)}

    def match(self, text: str, choices: Mapping[str, Sequence[str]], language: str,
              keys: Mapping[str, str] | None = None) -> Match | None:
        lowered = text.lower()
        for intent, words in self.KEYWORDS.items():
            if intent in choices and any(w in lowered for w in words):
                return Match(intent, 0.95)
        return PhraseMatcher().match(text, choices, language, keys)


async def distress_call(plan_text: str, lines: list[str | None], log: EventSink,
                        default_queue: str = "customer_service") -> FakeCall:
    """Run one call of ``plan_text`` whose caller says ``lines`` in turn; events to ``log``."""
    loaded, problems = load_text(plan_text)
    assert loaded is not None, problems
    call = FakeCall([])
    engine = FlowEngine(call, PublishedPlan.compile(loaded.plan, 1), TextPrompts(), log,
                        default_queue=default_queue,
                        voice=VoiceConfig(SpokenLines(lines), understander=KeywordIntents()),
                        emotion=CueScorer())
    await engine.run()
    return call
