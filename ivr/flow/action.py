"""The ``action`` node: one self-service call to the payment platform.

Verification first (``requires``), then the read-back for changes ("I will block the card
ending 4242 ..."), then the platform under a timeout. A platform that is down, slow or not
wired sends the caller to ``unavailable`` (an apology and a queue): never stuck.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from ivr.errors import IvrError
from ivr.events import EventKind
from ivr.flow import schema
from ivr.flow.confirm import ask_yes_no
from ivr.flow.context import NodeContext, Outcome
from ivr.platform.api import ActionRequest, ActionResult, Platform
from ivr.speech.say import render

if TYPE_CHECKING:
    from ivr.flow.voice import VoiceConfig

_LOG = logging.getLogger(__name__)
LEVELS = {"none": 0, "basic": 1, "strong": 2}
_VAR = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def request_params(spec: schema.Action, variables: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name, raw in spec.params.items():
        m = _VAR.match(raw)
        value = variables.get(m.group(1), "") if m else raw
        if value not in (None, ""):
            out[name] = str(value)
    return out


def say_text(template: dict[str, str], variables: dict[str, Any], language: str) -> str:
    try:
        return render(template[language], variables, language)
    except (ValueError, ArithmeticError, KeyError):
        return render(re.sub(r"\{(\w+):\w+\}", r"{\1}", template[language]), variables, language)


async def run_action(ctx: NodeContext, node_id: str, spec: schema.Action,
                     platform: Platform | None, voice: VoiceConfig | None = None
                     ) -> str | Outcome:
    variables = ctx.state.variables
    level = str(variables.get("verified_level", "none"))
    if LEVELS.get(level, 0) < LEVELS[spec.requires]:
        ctx.events.event(EventKind.ACTION, node=node_id, action=spec.do, outcome="unverified")
        return spec.unverified or spec.failed or ctx.fallback(None)
    if spec.read_back is not None and not await ask_yes_no(
            ctx, voice, node_id, say_text(spec.read_back, variables, ctx.language)):
        ctx.events.event(EventKind.ACTION, node=node_id, action=spec.do, outcome="declined")
        return spec.declined or spec.failed or ctx.fallback(None)
    request = ActionRequest(spec.do, request_params(spec, variables),
                            customer_id=variables.get("customer_id") or None,
                            call_id=str(variables.get("call_id", "")))
    try:
        if platform is None:
            raise IvrError("platform-unwired", "no payment platform configured")
        async with asyncio.timeout(spec.timeout):
            result: ActionResult = await platform.perform(request)
    except (IvrError, TimeoutError) as err:
        code = err.code if isinstance(err, IvrError) else "platform-timeout"
        _LOG.warning("%s: action %s on node %s", code, spec.do, node_id)
        ctx.events.event(EventKind.ACTION, node=node_id, action=spec.do, outcome="unavailable",
                         code=code)
        return spec.unavailable or spec.failed or ctx.fallback(None)
    for name, value in result.values.items():
        variables[f"{spec.into}_{name}"] = value
    variables[f"{spec.into}_outcome"] = result.outcome
    ctx.events.event(EventKind.ACTION, node=node_id, action=spec.do, outcome=result.outcome,
                     values=sorted(result.values))
    if result.outcome == "ok":
        if spec.say is not None:
            await ctx.say_answer(node_id, say_text(spec.say, variables, ctx.language))
        return spec.ok
    return spec.outcomes.get(result.outcome) or spec.failed or ctx.fallback(None)
