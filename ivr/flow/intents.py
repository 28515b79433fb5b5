"""Open questions: a transcript classified into an intent, routed by confidence band.

Bands (per ask, else the model's calibrated thresholds): at or above ``confirm_below`` the
intent is accepted; between ``reject_below`` and ``confirm_below`` the caller is asked "Did you
mean ...?" (yes/no by voice or 1/2); below ``reject_below`` (or ``unknown``) it is a no-match,
so the question is asked again, then the keypad menu, then its fallback (an agent).
Entities the caller gave on the way become call variables.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ivr.events import EventKind
from ivr.flow import schema
from ivr.flow.confirm import ask_yes_no
from ivr.nlu.api import DEFAULT_BANDS, bands_with
from ivr.speech.listening import Heard

if TYPE_CHECKING:
    from ivr.flow.voice import VoiceQuestions
    from ivr.nlu.classifier import IntentClassifier

_LOG = logging.getLogger(__name__)
ENTITY_VARS = ("transaction_id", "amount", "currency", "date", "card_last4", "phone")
CONFIRM = {
    "en-US": "Did you mean {meaning}? Say yes or press 1. Otherwise, say no or press 2.",
    "zh-CN": "请问您是要{meaning}吗？是请说“是”或按1，不是请说“不是”或按2。",
}
MEANING = {
    "payment_status": {"en-US": "the status of a payment", "zh-CN": "查询付款或转账状态"},
    "refund": {"en-US": "a refund", "zh-CN": "办理退款"},
    "fees": {"en-US": "fees, rates or limits", "zh-CN": "咨询费用、汇率或限额"},
    "card_lost": {"en-US": "that you lost your card", "zh-CN": "挂失银行卡"},
    "fraud_report": {"en-US": "to report fraud", "zh-CN": "举报盗刷或诈骗"},
    "change_phone": {"en-US": "to change your phone number", "zh-CN": "更改绑定手机号"},
    "account_access": {"en-US": "help logging in", "zh-CN": "登录或密码问题"},
    "balance": {"en-US": "your balance", "zh-CN": "查询余额"},
    "complaint": {"en-US": "to make a complaint", "zh-CN": "投诉"},
    "agent": {"en-US": "to speak with an agent", "zh-CN": "转人工服务"},
}


def choices_for(ask: schema.Ask, phrases: dict[str, list[str]]) -> dict[str, list[str]]:
    """Phrase choices plus one (phrase-less) choice per routed intent."""
    return {**{intent: [] for intent in ask.intents}, **phrases}


async def route(voice: VoiceQuestions, node_id: str, ask: schema.Ask, heard: Heard,
                choices: Mapping[str, Sequence[str]]) -> tuple[str | None, EventKind]:
    """(target node, ``speech``) or (None, ``no_input``/``no_match``) for a spoken answer to
    an open question."""
    ctx, lang = voice.ctx, voice.language
    t = heard.transcript
    if t is None or t.empty:
        return None, EventKind.NO_INPUT
    if not voice._confident(heard):
        return None, EventKind.NO_MATCH
    if other_language(t.text, lang):  # reprompt politely, then the keypad: never a guess
        ctx.events.event(EventKind.INTENT, node=node_id, intent="unknown", band="reject",
                         reason="language")
        return None, EventKind.NO_MATCH
    try:
        async with asyncio.timeout(voice.config.intent_timeout):
            match = await asyncio.to_thread(voice.config.understander.match, t.text, choices,
                                            lang, ask.dtmf)
    except TimeoutError:
        ctx.events.event(EventKind.INTENT_ERROR, node=node_id, code="nlu-timeout")
        return None, EventKind.NO_MATCH
    if match is None:
        ctx.events.event(EventKind.INTENT, node=node_id, intent="unknown", band="reject")
        return None, EventKind.NO_MATCH
    if match.choice not in ask.intents:  # a phrase or a spoken key ("press one")
        return match.choice, EventKind.SPEECH
    reject, confirm = bands(voice, ask, lang)
    band = "accept" if match.score >= confirm else "confirm" if match.score >= reject else \
        "reject"
    ctx.events.event(EventKind.INTENT, node=node_id, intent=match.choice,
                        confidence=round(match.score, 3), band=band,
                        entities=sorted(match.entities))
    if band == "reject":
        return None, EventKind.NO_MATCH
    if band == "confirm" and not await ask_yes_no(ctx, voice.config, node_id,
                                                  confirm_text(ask, match.choice, lang)):
        return None, EventKind.NO_MATCH
    ctx.state.variables["intent"] = match.choice
    for name in ENTITY_VARS:
        if name in match.entities:
            ctx.state.variables[name] = match.entities[name]
    return ask.intents[match.choice], EventKind.SPEECH


def other_language(text: str, lang: str) -> bool:
    """A sentence in the other language of the hotline: English words (two or more, no
    hanzi) on a Mandarin line, or mostly hanzi on an English one. A single word ("agent",
    "APP") is left to the intent model."""
    han = sum(1 for c in text if "\u3400" <= c <= "\u9fff")
    latin_words = len(re.findall(r"[A-Za-z]{2,}", text))
    if lang.startswith("zh"):
        return han == 0 and latin_words >= 2
    return han > 0 and han >= latin_words


def bands(voice: VoiceQuestions, ask: schema.Ask, lang: str) -> tuple[float, float]:
    base = voice.config.intent_bands(lang) if voice.config.intent_bands else DEFAULT_BANDS
    return bands_with(base, ask.reject_below, ask.confirm_below)


def confirm_text(ask: schema.Ask, intent: str, lang: str) -> str:
    meaning = MEANING.get(intent, {}).get(lang) or MEANING.get(intent, {}).get("en-US", intent)
    template = (ask.confirm or {}).get(lang) or CONFIRM.get(lang, CONFIRM["en-US"])
    return template.replace("{meaning}", meaning)


def open_question(path: Path) -> schema.Ask:
    """The dialplan's open question: the first ``ask`` routing intents, from ``start``."""
    from ivr.flow.loader import load_file
    from ivr.nlu.errors import NluError

    loaded, problems = load_file(path)
    if loaded is None:
        first = problems[0] if problems else None
        raise NluError("nlu-dialplan-invalid", f"{path} does not load"
                       + (f": {first.file}:{first.line}: {first.message}" if first else "")
                       + " (fix it, or pass --dialplan or --model-only)")
    nodes = loaded.plan.nodes
    order = [loaded.plan.start, *[n for n in nodes if n != loaded.plan.start]]
    for node_id in order:
        ask = nodes[node_id].ask
        if ask is not None and ask.intents:
            return ask
    raise NluError("nlu-dialplan-no-question",
                   f"{path} has no ask with intents (pass --model-only to score the model)")


def answer_as_a_call(model: IntentClassifier, ask: schema.Ask, text: str, lang: str) -> str:
    """What a call on ``ask`` makes of a confident transcript: another language is asked
    again (``unknown``); then the question's phrases and spoken keys, then the intent model
    with its reject band (``ivr.flow.intents.route``). A spoken key or phrase counts as the
    intent it leads to when that is an intent of the question."""
    from ivr.nlu.understander import IntentUnderstander

    if other_language(text, lang):
        return "unknown"
    choices = {t: p[lang] for t, p in ask.phrases.items() if p.get(lang)}
    match = IntentUnderstander(model).match(text, choices_for(ask, choices), lang, ask.dtmf)
    if match is None:
        return "unknown"
    if match.choice in ask.intents:
        reject, _confirm = bands_with(model.bands(lang), ask.reject_below, ask.confirm_below)
        return str(match.choice) if match.score >= reject else "unknown"
    # a phrase or a spoken key leads to a node: the intent routed there, if any
    intents_by_node = {node: intent for intent, node in ask.intents.items()}
    return str(intents_by_node.get(match.choice, "unknown"))
