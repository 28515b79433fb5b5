"""Yes or no from the caller: by voice where a recogniser exists, else keys 1 / 2."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.speech.listening import ListenOptions

if TYPE_CHECKING:
    from ivr.flow.engine import FlowEngine

YES_NO_KEYS = {"1": "yes", "2": "no"}


async def ask_yes_no(engine: FlowEngine, node_id: str, text: str) -> bool:
    """Play ``text`` (already in the caller's language) and return True only for a clear yes."""
    from ivr.flow.voice import YES_NO

    lang = engine.state.language
    voice = engine.voice
    if voice is not None and voice.config.listener.available(lang):
        prompt = await engine.prompts.prompt(text, lang)
        engine.events.event("prompt", node=node_id, text=prompt.text, language=lang)
        yes_no = YES_NO.get(lang, YES_NO["en-US"])
        options = ListenOptions(keys="12", key_timeout=5.0, endpoint=voice.config.endpoint,
                                phrases=tuple(yes_no["yes"] + yes_no["no"]))
        heard = await voice.config.listener.ask(engine.call, [prompt], lang, options)
        if heard.mode == "dtmf":
            answer = YES_NO_KEYS.get(heard.digits[:1])
        elif heard.transcript is None or heard.no_input:
            answer = None
        else:
            match = voice.config.understander.match(heard.transcript.text, yes_no, lang)
            answer = match.choice if match else None
    else:
        digits, _ = await engine._ask_once(node_id, {lang: text}, None, "12",
                                           all_languages=False, max_digits=1, timeout=5.0)
        answer = YES_NO_KEYS.get(digits)
    engine.events.event("confirmed" if answer == "yes" else "not_confirmed", node=node_id,
                        answer=answer)
    return answer == "yes"
