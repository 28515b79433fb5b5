"""Yes or no from the caller: by voice where a recogniser exists, else keys 1 / 2."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.events import EventKind
from ivr.flow.context import NodeContext
from ivr.speech.listening import ListenOptions

if TYPE_CHECKING:
    from ivr.flow.voice import VoiceConfig

YES_NO_KEYS = {"1": "yes", "2": "no"}


async def ask_yes_no(ctx: NodeContext, voice: VoiceConfig | None, node_id: str,
                     text: str) -> bool:
    """Play ``text`` (already in the caller's language) and return True only for a clear yes."""
    from ivr.flow.voice import YES_NO

    lang = ctx.language
    if voice is not None and voice.listener.available(lang):
        prompt = await ctx.prompts.prompt(text, lang)
        ctx.events.event(EventKind.PROMPT, node=node_id, text=prompt.text, language=lang)
        yes_no = YES_NO.get(lang, YES_NO["en-US"])
        options = ListenOptions(keys="12", key_timeout=5.0, endpoint=voice.endpoint,
                                phrases=tuple(yes_no["yes"] + yes_no["no"]))
        heard = await voice.listener.ask(ctx.call, [prompt], lang, options)
        if heard.mode == "dtmf":
            answer = YES_NO_KEYS.get(heard.digits[:1])
        elif heard.transcript is None or heard.no_input:
            answer = None
        else:
            match = voice.understander.match(heard.transcript.text, yes_no, lang)
            answer = match.choice if match else None
    else:
        digits, _ = await ctx.ask_once(node_id, {lang: text}, None, "12",
                                       all_languages=False, max_digits=1, timeout=5.0)
        answer = YES_NO_KEYS.get(digits)
    ctx.events.event(EventKind.CONFIRMED if answer == "yes" else EventKind.NOT_CONFIRMED,
                     node=node_id, answer=answer)
    return answer == "yes"
