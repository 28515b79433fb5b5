"""The ``survey`` node: "how satisfied were you?", answered with one key or by voice.

It is an ``ask`` under the hood (the same prompts, retries, keypad round and events), whose
options are the scores 1..``scale``. A caller who says and presses nothing (or nothing
valid) is not sent to an agent: the survey was a courtesy, the call goes on to ``next``
(or ``fallback``), where goodbye is said. Answers are never scored for distress.
"""

from __future__ import annotations

from ivr.events import EventKind
from ivr.flow import schema
from ivr.flow.context import NodeContext, Outcome
from ivr.flow.keypad import ask_keys
from ivr.flow.voice import VoiceConfig, VoiceQuestions

_OPTION = "_survey_score_"
"""Prefix of the synthetic option each score routes to (never a node of the plan)."""
_WORDS = {
    "en-US": {1: ["one", "very bad", "terrible"], 2: ["two", "bad", "poor"],
              3: ["three", "okay", "average"], 4: ["four", "good"],
              5: ["five", "excellent", "very good", "great"], 6: ["six"], 7: ["seven"],
              8: ["eight"], 9: ["nine"]},
    "zh-CN": {1: ["一分", "非常不满意"], 2: ["两分", "二分", "不满意"], 3: ["三分", "一般"],
              4: ["四分", "满意"], 5: ["五分", "非常满意"], 6: ["六分"], 7: ["七分"],
              8: ["八分"], 9: ["九分"]},
}
"""What callers say for each score; the word labels fit the usual scale of five only."""


def as_ask(survey: schema.Survey, languages: list[str]) -> schema.Ask:
    """The survey as a question whose options are ``_survey_score_N``."""
    labelled = survey.scale == 5
    phrases = {
        f"{_OPTION}{n}": {lang: words[n] if labelled else words[n][:1]
                          for lang, words in _WORDS.items() if lang in languages}
        for n in range(1, survey.scale + 1)}
    retries = survey.retries if survey.retries is not None else 0
    return schema.Ask(
        prompt=survey.prompt, reprompt=survey.reprompt, no_input=survey.no_input,
        no_match=survey.no_match, timeout=survey.timeout, retries=retries,
        fallback=survey.fallback or survey.next, endpointing=survey.endpointing,
        barge_in=survey.barge_in,
        dtmf={str(n): f"{_OPTION}{n}" for n in range(1, survey.scale + 1)},
        phrases={k: v for k, v in phrases.items() if v})


def score_of(target: str | Outcome) -> int | None:
    """The score a synthetic option stands for (None: not an answer)."""
    if isinstance(target, str) and target.startswith(_OPTION):
        return int(target[len(_OPTION):])
    return None


async def run_survey(ctx: NodeContext, node_id: str, survey: schema.Survey,
                     voice: VoiceConfig | None) -> str:
    """Ask, record the score (a ``survey`` event), thank the caller; the next node."""
    ask = as_ask(survey, ctx.plan.languages)
    target: str | Outcome | None = None
    mode = "keypad"
    if voice is not None:
        # No distress tracker: a survey answer never escalates a caller who is leaving.
        target = await VoiceQuestions(ctx, voice).on_ask(node_id, schema.Node(ask=ask))
        mode = "voice"
    if target is None:
        timeout, retries = ctx.retries(ask)
        target = await ask_keys(ctx, node_id, ask, range(1, retries + 2), timeout=timeout)
        mode = "keypad"
    score = score_of(target) if target is not None else None
    if score is None:
        if target is None:
            ctx.events.event(EventKind.RETRIES_EXHAUSTED, node=node_id)
        return survey.fallback or survey.next
    ctx.events.event(EventKind.SURVEY, node=node_id, score=score, scale=survey.scale, mode=mode)
    await ctx.say(node_id, survey.thanks)
    return survey.next
