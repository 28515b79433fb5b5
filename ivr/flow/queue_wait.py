"""Before a queue transfer: the caller's position and estimated wait, and a callback offer.

Asterisk's own figures (AMI ``QueueSummary`` through :class:`~ivr.telephony.call.QueueInfo`):
position is the callers already waiting plus one; the estimated wait is the queue's average
hold time, as app_queue's own announcement uses it. With no hold-time history (``HoldTime``
0) the caller hears the position only. Without AMI (down, slow) nothing is said and the
transfer goes on: the announcement is a courtesy, never a reason to keep a caller.
"""

from __future__ import annotations

import asyncio
import logging

from ivr.events import EventKind
from ivr.flow import schema
from ivr.flow.context import NodeContext, Outcome
from ivr.flow.voice import YES_NO, VoiceConfig
from ivr.speech.listening import ListenOptions
from ivr.telephony.call import QueueInfo, QueueWait

_LOG = logging.getLogger(__name__)
LOOKUP_SECONDS = 1.5
POSITION = {"en-US": "You are number {n} in line.", "zh-CN": "您目前排在第{n}位。"}
WAIT = {"en-US": " The estimated wait is about {m} {unit}.", "zh-CN": "预计等待约{m}分钟。"}
OFFER = {
    "en-US": ("The wait is long. To have an agent call you back instead, press 1 or say yes. "
              "To keep waiting, press 2 or say no."),
    "zh-CN": "等待时间较长。如需客服回电，请按1或说“是”；继续等待请按2或说“不是”。",
}
BOOKED = {
    "en-US": "Thank you. An agent will call you back at this number. Goodbye.",
    "zh-CN": "谢谢，客服将回拨此号码。再见。",
}


def announcement(wait: QueueWait, language: str) -> str:
    """"You are number 3 in line. The estimated wait is about 4 minutes." (position only
    while the queue has no hold-time history)."""
    lang = language if language in POSITION else "en-US"
    text = POSITION[lang].format(n=wait.position)
    if wait.hold_seconds > 0:
        minutes = max(1, round(wait.hold_seconds / 60))
        text += WAIT[lang].format(m=minutes, unit="minute" if minutes == 1 else "minutes")
    return text


async def before_transfer(ctx: NodeContext, node_id: str, queue: schema.Queue,
                          info: QueueInfo | None, voice: VoiceConfig | None) -> Outcome | None:
    """Announce and offer as the node asks; an :class:`Outcome` when the caller took a
    callback (the call then ends without joining the queue)."""
    if info is None or not (queue.announce_wait or queue.callback_above is not None):
        return None
    try:
        async with asyncio.timeout(LOOKUP_SECONDS):
            wait = await info.wait(queue.name)
    except TimeoutError:
        wait = None
    if wait is None:
        _LOG.info("queue-wait-unknown: no queue figures for %s; transferring", queue.name)
        return None
    lang = ctx.state.language
    if queue.announce_wait:
        text = announcement(wait, lang)
        ctx.events.event(EventKind.QUEUE_WAIT, node=node_id, queue=queue.name,
                         position=wait.position, seconds=wait.hold_seconds)
        await ctx.say(node_id, {lang: text})
    caller = ctx.call.info.caller
    if queue.callback_above is None or wait.hold_seconds <= queue.callback_above or not caller:
        return None
    if not await _wants_callback(ctx, node_id, lang, voice):
        return None
    callback_id = await info.request_callback(ctx.call.info, queue.name, lang)
    ctx.events.event(EventKind.CALLBACK_REQUESTED, node=node_id, queue=queue.name,
                     callback_id=callback_id)
    await ctx.say(node_id, {lang: BOOKED.get(lang, BOOKED["en-US"])})
    return Outcome("queued", queue.name, queue.priority)


async def _wants_callback(ctx: NodeContext, node_id: str, lang: str,
                          voice: VoiceConfig | None) -> bool:
    offer = {lang: OFFER.get(lang, OFFER["en-US"])}
    if voice is not None and voice.listener.available(lang):
        prompt = await ctx.prompt(offer)
        ctx.events.event(EventKind.PROMPT, node=node_id, text=prompt.text, language=lang)
        yes_no = YES_NO.get(lang, YES_NO["en-US"])
        options = ListenOptions(keys="12", key_timeout=5.0, endpoint=voice.endpoint,
                                phrases=tuple(yes_no["yes"] + yes_no["no"]))
        heard = await voice.listener.ask(ctx.call, [prompt], lang, options)
        if heard.mode == "dtmf":
            return heard.digits == "1"
        if heard.transcript is None or heard.no_input:
            return False
        match = voice.understander.match(heard.transcript.text, yes_no, lang)
        return match is not None and match.choice == "yes"
    digits, _timed_out = await ctx.ask_once(node_id, offer, None, "12", all_languages=False,
                                            max_digits=1, timeout=5.0)
    return digits == "1"
