"""A scripted caller who answers questions by voice (text, as a recogniser would print it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ivr.speech.asr import Transcript
from ivr.speech.listening import Heard, ListenOptions
from ivr.telephony.call import Call, Prompt


@dataclass
class ScriptedListener:
    """``Listener``: each question gets the next line: words, ``key:N`` or None (silence)."""

    lines: list[str | None]
    languages: tuple[str, ...] = ("en-US", "zh-CN")
    heard_prompts: list[str] = field(default_factory=list)

    def available(self, language: str) -> bool:
        return language in self.languages

    async def ask(self, call: Call, prompts: Sequence[Prompt], language: str,
                  options: ListenOptions) -> Heard:
        for prompt in prompts:
            self.heard_prompts.append(prompt.text)
            await call.play(prompt)
        line = self.lines.pop(0) if self.lines else None
        if line is None:
            return Heard("none")
        if line.startswith("key:"):
            return Heard("dtmf", line[4:])
        return Heard("speech", transcript=Transcript(line, 0.9, engine="script"))
