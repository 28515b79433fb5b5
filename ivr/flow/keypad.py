"""The keypad loops: a menu answered with one key, digits keyed into a variable.

Both the keypad-only questions (engine) and the keypad round after voice (``voice.py``) run
them. Each attempt plays the question (after a no-input or no-match prompt from the
previous attempt), later attempts ask the question's short ``reprompt`` when it has one.
The caller decides what follows the last miss (``NodeContext.exhausted``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable
from typing import Any

from ivr.events import EventKind
from ivr.flow import schema
from ivr.flow.context import NodeContext


async def ask_keys(ctx: NodeContext, node_id: str, ask: schema.Ask, attempts: Iterable[int | str],
                   *, timeout: float, reprompt: dict[str, str] | None = None,
                   digits_in_misses: bool = True) -> str | None:
    """The node a key chose, or None when every attempt missed.

    Events per attempt: ``dtmf`` for a key that is an option, else ``no_input`` or
    ``no_match`` (with the key unless ``digits_in_misses`` is false).
    """
    keys = "".join(ask.dtmf)
    question = ask.prompt
    for attempt in attempts:
        digits, no_input = await ctx.ask_once(node_id, question, reprompt, keys,
                                              all_languages=ask.all_languages, max_digits=1,
                                              timeout=timeout)
        if digits in ask.dtmf:
            ctx.events.event(EventKind.DTMF, node=node_id, digits=digits, attempt=attempt)
            return ask.dtmf[digits]
        kind = EventKind.NO_INPUT if no_input else EventKind.NO_MATCH
        shown = {} if no_input or not digits_in_misses else {"digits": digits}
        ctx.events.event(kind, node=node_id, attempt=attempt, **shown)
        reprompt = ctx.reprompt(ask, kind)
        question = ask.reprompt or ask.prompt
    return None


def keyed_value(col: schema.Collect, digits: str) -> str | None:
    """``digits`` when they fit the collect's lengths and pattern."""
    valid = col.min_length <= len(digits) <= col.max_length and (
        col.pattern is None or re.fullmatch(col.pattern, digits) is not None)
    return digits if valid else None


async def collect_keys(ctx: NodeContext, node_id: str, col: schema.Collect,
                       attempts: Iterable[int | str], *, timeout: float,
                       value: Callable[[str], str | None] | None = None,
                       reprompt: dict[str, str] | None = None,
                       report_misses: bool = True) -> str | None:
    """The value keyed in (``value`` validates, default :func:`keyed_value`), or None when
    every attempt missed.

    The recording is paused while a ``secret`` is keyed in. Events per miss (unless
    ``report_misses`` is false): ``no_input`` or ``no_match`` (with the digits, unless secret).
    """
    check = value or (lambda digits: keyed_value(col, digits))
    question = col.prompt
    for attempt in attempts:
        # Secrets never reach the recording: it is paused while they are keyed in.
        pause = ctx.recording.paused(node_id) if col.secret else contextlib.nullcontext()
        async with pause:
            digits, no_input = await ctx.ask_once(
                node_id, question, reprompt, "", all_languages=False,
                max_digits=col.max_length, timeout=timeout, secret=col.secret,
            )
        got = check(digits)
        if got is not None:
            return got
        kind = EventKind.NO_INPUT if no_input else EventKind.NO_MATCH
        if report_misses:
            shown: dict[str, Any] = {"secret": True} if col.secret else {"digits": digits}
            ctx.events.event(kind, node=node_id, attempt=attempt, **({} if no_input else shown))
        reprompt = ctx.reprompt(col, kind)
        question = col.reprompt or col.prompt
    return None
