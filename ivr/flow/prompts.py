"""Every prompt text a dialplan can say (for pre-rendering)."""

from __future__ import annotations

from collections.abc import Iterator

from ivr.flow import schema


def plan_texts(plan: schema.Dialplan) -> Iterator[tuple[str, str]]:
    """(text, language) for every prompt in the dialplan, defaults included."""
    from ivr.flow.intents import confirm_text
    from ivr.flow.queue_wait import BOOKED, OFFER

    texts: list[dict[str, str] | None] = [plan.defaults.no_input, plan.defaults.no_match]
    for node in plan.nodes.values():
        texts.append(node.say)
        for body in (node.ask, node.collect, node.queue, node.hangup, node.survey):
            for name in ("prompt", "reprompt", "no_input", "no_match"):
                texts.append(getattr(body, name, None))
        if node.queue is not None and node.queue.callback_above is not None:
            texts.extend({lang: fixed.get(lang, fixed["en-US"])}
                         for fixed in (OFFER, BOOKED) for lang in plan.languages)
        if node.survey is not None:
            texts.append(node.survey.thanks)
        if node.verify is not None:
            texts.extend(text for _, text in node.verify.prompts)
        if node.ask is not None and node.ask.intents:  # "Did you mean ...?": one per intent
            languages = sorted((node.ask.prompt or {}).keys())
            texts.extend({lang: confirm_text(node.ask, intent, lang)}
                         for intent in node.ask.intents for lang in languages)
    seen: set[tuple[str, str]] = set()
    for text in texts:
        for language, words in (text or {}).items():
            if (words, language) not in seen:
                seen.add((words, language))
                yield words, language
