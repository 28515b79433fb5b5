"""The only place that wires concrete classes together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from ivr.config import Settings
from ivr.dialplan_desk import DialplanDesk
from ivr.dialplans import DialplanRegistry, publish_folder_if_empty
from ivr.emotion.scorer import load_scorer
from ivr.emotion.types import EmotionScorer
from ivr.errors import PromptError
from ivr.flow.prompts import plan_texts
from ivr.flow.runner import CallRunner
from ivr.flow.voice import VoiceConfig
from ivr.gc_pacing import FullCollections
from ivr.hostport import parse_hostport
from ivr.metrics import Metrics, probe_loop_lag
from ivr.nlu.wiring import load_understander
from ivr.platform.wiring import make_platform
from ivr.recording.wiring import RecordingService
from ivr.security.wiring import make_notifier, make_verifier
from ivr.speech.endpoint import EndpointConfig
from ivr.speech.engines import check_languages, load_recognizers, make_pool
from ivr.speech.lexicon import load_lexicon
from ivr.speech.listen import SpeechListener
from ivr.speech.tts import PromptRenderer
from ivr.store.callbacks import CallbackRepository
from ivr.store.db import make_engine
from ivr.store.instances import InstanceLease
from ivr.store.instances import close_left_open as close_calls_left_open
from ivr.store.notify import DIALPLANS, Notifications
from ivr.store.repo import CallQueries, DialplanRepository
from ivr.store.shared import SharedState
from ivr.store.writer import CLOSE_TIMEOUT, CallRecorder, EventWriter
from ivr.telephony.agi import AgiServer
from ivr.telephony.ami import AmiLink, AmiQueues
from ivr.telephony.ari.controller import AriController
from ivr.telephony.call import Call, Prompt
from ivr.telephony.webrtc.gateway import PromptSounds, WebRtcGateway
from ivr.web.app import build_web_app
from ivr.web.console import Console
from ivr.web.live_board import LiveBoard, LiveFeed
from ivr.web.softphone import Softphone
from ivr.web.survey_invites import SurveyInviter

_LOG = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


def make_renderer(settings: Settings) -> PromptRenderer:
    p = settings.prompts
    return PromptRenderer(sounds_dir=settings.sounds_dir, asterisk_dir=settings.asterisk_sounds_dir,
                          voices=p.voices, rate=p.rate, render_timeout=p.render_timeout,
                          lexicon=load_lexicon(p.lexicon),
                          shared_dir=Path(p.shared_cache) if p.shared_cache.strip() else None)


class RenderedPrompts:
    """PromptSource over the renderer: a prompt is played only once its file exists.

    A text that is none of the dialplans' own prompts (``is_plan_text``) is per-call: an
    answer with the caller's figures. The renderer speaks it into a file that lives as long
    as the calls holding it (:meth:`for_call`), and it is not remembered here."""

    RECHECK_SECONDS = 1.0
    """How long a prompt's file, once seen, counts as still there (a stat per play cost every
    call four system calls; a file removed is noticed within this and rendered again)."""

    def __init__(self, renderer: PromptRenderer, sounds_dir: Path,
                 is_plan_text: Callable[[str, str], bool] = lambda text, language: True) -> None:
        self._renderer = self.renderer = renderer
        self._dir = sounds_dir
        self._is_plan_text = is_plan_text
        self._known: dict[tuple[str, str], tuple[Prompt, Path, float]] = {}
        """(text, language) → the prompt, its file's path, and when the file was last seen."""
        self._warming: asyncio.Task[None] | None = None

    def for_call(self) -> CallPromptScope:
        """A view for one call; its per-call texts are deleted once the call (and every other
        call that was given the same text) has ended."""
        return CallPromptScope(self)

    async def prompt(self, text: str, language: str, held: set[str] | None = None) -> Prompt:
        """``held``: the keys of the per-call texts a call holds (this adds to it)."""
        if self._warming is None:  # the first call: get the TTS worker ready meanwhile
            self._warming = asyncio.create_task(self._warm(), name="ivr-prompt-warm")
        known = self._known.get((text, language))
        if known is not None:
            now = time.monotonic()
            if now - known[2] < self.RECHECK_SECONDS:
                return known[0]
            # A stat (not a header read): the file must still be where Asterisk reads it.
            if known[1].exists():
                self._known[(text, language)] = (known[0], known[1], now)
                return known[0]
        if not self._is_plan_text(text, language):
            audio = await self._renderer.ensure(text, language, private=True)
            if held is not None and audio.private and audio.key not in held:
                self._renderer.hold(audio.key)
                held.add(audio.key)
            return Prompt(text=text, language=language, media=audio.asterisk_name,
                          prompt_id=audio.name)
        audio = self._renderer.cached(text, language) or await self._renderer.ensure(text, language)
        prompt = Prompt(text=text, language=language, media=audio.asterisk_name, prompt_id=audio.name)
        self._known[(text, language)] = (prompt, self._dir / f"{prompt.prompt_id}.wav",
                                         time.monotonic())
        return prompt

    async def aclose(self) -> None:
        if self._warming is not None and not self._warming.done():
            self._warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warming

    async def _warm(self) -> None:
        try:
            await self._renderer.warm(self._renderer.languages)
        except PromptError as err:  # the first answer then starts the worker itself
            _LOG.warning("%s: could not start the TTS worker: %s", err.code, err.message)


class CallPromptScope:
    """One call's view of :class:`RenderedPrompts` (``CallRunner.prompt_scope``)."""

    def __init__(self, prompts: RenderedPrompts) -> None:
        self._prompts = prompts
        self._held: set[str] = set()

    async def prompt(self, text: str, language: str) -> Prompt:
        return await self._prompts.prompt(text, language, self._held)

    async def release(self) -> None:
        held, self._held = self._held, set()
        if held:
            await self._prompts.renderer.release(held)


class MetricsStats:
    """CallStats over Prometheus metrics."""

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def call_started(self, transport: str) -> None:
        self._m.active_calls.labels(transport).inc()

    def call_ended(self, transport: str, outcome: str, error_code: str | None) -> None:
        self._m.active_calls.labels(transport).dec()
        self._m.calls.labels(transport, outcome).inc()
        if error_code:
            self._m.errors.labels(error_code).inc()


class Hotline:
    """One ``ivr serve`` process: store, dialplans, prompts, FastAGI and HTTP."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.metrics.instance.labels(settings.instance_id).set(1)
        self.engine = make_engine(settings.database_url)
        self.dialplans = DialplanRepository(self.engine)
        self.calls = CallQueries(self.engine)
        self.registry = DialplanRegistry(self.dialplans, settings.dialplans.limits)
        self.published = Notifications(self.engine, DIALPLANS)
        """PostgreSQL tells every instance at once when a dialplan is published."""
        self.renderer = make_renderer(settings)
        self._prerender: asyncio.Task[None] | None = None
        self._render_again = False
        self._plan_texts: tuple[object, frozenset[tuple[str, str]]] = (None, frozenset())
        self.prompts = RenderedPrompts(self.renderer, settings.sounds_dir, self.is_plan_text)
        self.writer = EventWriter(self.engine, flush_seconds=settings.store.flush_seconds,
                                  instance_id=settings.instance_id, timezone=settings.timezone,
                                  on_error=lambda code: self.metrics.errors.labels(code).inc())
        self.metrics.store_healthy.set_function(lambda: float(self.writer.healthy))
        self.recording = RecordingService(
            settings.recording, settings.recording_paths, self.engine, self.writer,
            lambda code: self.metrics.errors.labels(code).inc(),
            instance_id=settings.instance_id, drain_seconds=settings.drain_seconds)
        self.recordings = self.recording.store
        self.webrtc = WebRtcGateway(settings.webrtc, PromptSounds(settings.sounds_dir),
                                    busy_prompt=self._busy_prompt
                                    ) if settings.webrtc.enabled else None
        self.ami = AmiLink(settings.ami, on_state=self.metrics.ami_connected.set
                           ) if settings.ami.host else None
        self.queues = AmiQueues(self.ami, CallbackRepository(self.engine)
                                ) if self.ami is not None else None
        self.ari = AriController(settings.ari, PromptSounds(settings.sounds_dir),
                                 turn_away=self._turn_away, on_state=self._ari_state,
                                 on_drop=lambda reason: self.metrics.ari_rtp_dropped.labels(
                                     reason).inc(),
                                 on_error=lambda code: self.metrics.errors.labels(code).inc()
                                 ) if settings.ari.url else None
        self.verifier = make_verifier(settings.security, self.engine, settings.var_dir)
        self.board = LiveBoard(settings.instance_id)
        """Calls in progress on this instance, for the supervisors' live page."""
        web_settings = settings.web
        self.surveys = SurveyInviter(
            self.engine, make_notifier(settings.security, self.engine, settings.var_dir),
            hours=web_settings.survey_link_hours, when=self._survey_when(),
            base_url=web_settings.public_url or "", call_written=self.writer.ensure_written,
            agent_wait_hours=web_settings.survey_agent_wait_hours,
        ) if web_settings.survey_texts else None
        """Texts transferred callers a survey link: at transfer, or at AMI ``AgentComplete``."""
        if self.surveys is not None and self.ami is not None and (
                self.surveys.when == "agent_complete"):
            self.ami.subscribe("AgentComplete", self.surveys.agent_complete, "agent")
        self.shared = SharedState(settings.redis, on_error=self._count_error
                                  ) if settings.redis.url else None
        """Redis, when configured: the payment backend's circuit breaker is shared."""
        self.platform = make_platform(settings.platform, self.engine, self.shared)
        self.runner: CallRunner | None = None
        """Runs the calls; built by :meth:`start` once the voice configuration is loaded."""
        self.agi = AgiServer(settings.agi, observe_reply=self.metrics.agi_reply_seconds.observe,
                             overflow_queue=settings.dialplans.default_queue,
                             record_dirs=(settings.record_dir, settings.asterisk_record_dir),
                             on_overflow=self._turn_away,
                             on_refused=lambda _peer: self.metrics.agi_refused.inc())
        self.speech_pool = make_pool(settings.speech)
        self.lease = InstanceLease(self.engine, settings.instance_id,
                                   lease_seconds=settings.store.lease_seconds,
                                   on_lost=self._instance_lost)
        self.ready = False
        """Taking calls: started and not draining (see :meth:`not_ready`)."""
        self.started = False
        """Start-up finished (stays true while draining): the liveness of ``/healthz``."""
        self._left_open_closed = False
        self._keys_shared = False
        self.agi_address: tuple[str, int] | None = None
        self.http_address: tuple[str, int] | None = None
        self._http: web.AppRunner | None = None
        self.desk = DialplanDesk(self.dialplans, settings.dialplans.limits, settings.security,
                                 settings.dialplans.default_queue,
                                 understander=self._understander, intent_bands=self._bands)

    def _survey_when(self) -> str:
        when = self.settings.web.survey_text_when
        if when == "auto":
            return "agent_complete" if self.settings.ami.host else "transfer"
        return when

    def _understander(self) -> Any:
        voice = self.runner.voice if self.runner is not None else None
        return voice.understander if voice is not None else None

    def _bands(self) -> Any:
        voice = self.runner.voice if self.runner is not None else None
        return voice.intent_bands if voice is not None else None

    def _make_runner(self, voice: VoiceConfig, emotion: EmotionScorer) -> CallRunner:
        settings = self.settings
        return CallRunner(
            plans=self.registry, prompts=self.prompts,
            call_log=self._call_log,
            store_healthy=lambda: self.writer.healthy, stats=MetricsStats(self.metrics),
            default_queue=settings.dialplans.default_queue,
            default_language=settings.dialplans.default_language,
            apology=settings.dialplans.apology,
            verifier=self.verifier,
            recordings=self.recording.for_call if self.recording.enabled else None,
            voice=voice, platform=self.platform, emotion=emotion, queues=self.queues,
            prompt_scope=self.prompts.for_call,
        )

    async def _turn_away(self, call: Call, code: str) -> None:
        assert self.runner is not None  # FastAGI takes calls only once start() built it
        await self.runner.turn_away(call, code)

    def _ari_state(self, state: str) -> None:
        self.metrics.ari_connected.set(1 if state == "connected" else 0)
        for known in ("connecting", "connected", "disconnected", "replaced", "stopped"):
            self.metrics.ari_state.labels(known).set(1 if known == state else 0)

    def _call_log(self, call_id: str) -> Any:
        observers = [self.board] + ([self.surveys] if self.surveys is not None else [])
        log = LiveFeed(self.metrics.metered(CallRecorder(self.writer, call_id)), call_id,
                       *observers)
        return self.webrtc.feed(call_id, log) if self.webrtc is not None else log

    async def _busy_prompt(self, language: str) -> Prompt:
        busy = self.settings.webrtc.busy_message
        lang = language if language in busy else next(iter(busy))
        return await self.prompts.prompt(busy[lang], lang)

    def _count_error(self, code: str) -> None:
        self.metrics.errors.labels(code).inc()

    def _instance_lost(self, _instance: str, calls: list[str]) -> None:
        self.metrics.instances_lost.inc()
        if calls:
            self.metrics.errors.labels("instance-lost").inc(len(calls))

    def active_calls(self) -> int:
        return (self.agi.active + (self.webrtc.active if self.webrtc is not None else 0)
                + (self.ari.active if self.ari is not None else 0))

    def status(self) -> dict[str, Any]:
        ari = None if self.ari is None else {
            "state": self.ari.state, "connected": self.ari.state == "connected",
            "active_calls": self.ari.active, "connects": self.ari.connects}
        ami = None if self.ami is None else {"connected": self.ami.connected}
        return {"active_calls": self.active_calls(), "store_healthy": self.writer.healthy,
                "instance_id": self.settings.instance_id, "ari": ari, "ami": ami,
                "dialplans": {k: v.version for k, v in self.registry.plans.items()}}

    def not_ready(self) -> list[str]:
        """Why this instance should get no new calls now (empty: it can take them)."""
        reasons = [] if self.started else ["starting"]
        if self.started and not self.ready:
            reasons.append("draining")
        if not self.writer.healthy:
            reasons.append("store-unavailable")
        return reasons

    async def share_keys(self) -> list[str]:
        """The recording keys: created on a first start, compared with the other instances'
        (once per start); notes for the console."""
        if self._keys_shared:
            return []
        self._keys_shared = True
        return await self.recording.share_keys(self.settings.instance_id)

    async def close_left_open(self) -> str | None:
        """Close the calls this instance left open when it last stopped without draining
        (once per start); a sentence for the console when there were some."""
        if self._left_open_closed:
            return None
        try:
            closed = await close_calls_left_open(self.engine, self.settings.instance_id)
        except SQLAlchemyError as err:
            _LOG.error("store-unavailable: cannot close calls left open (%s)", err)
            return None
        self._left_open_closed = True
        if not closed:
            return None
        _LOG.warning("server-restart: closed %d call(s) left open by a previous run",
                     len(closed))
        return (f"closed {len(closed)} call(s) left open by a previous run of instance "
                f"{self.settings.instance_id} (outcome failed, server-restart)")

    async def load_dialplans(self) -> list[str]:
        """Publish dialplans/ on first start, then load the live versions."""
        published = await publish_folder_if_empty(self.dialplans, self.settings.dialplans.dir,
                                                  self.settings.dialplans.limits)
        await self.registry.refresh()
        return [f"published {v.dialplan_id} version {v.version} from "
                f"{self.settings.dialplans.dir}" for v in published]

    def prompt_texts(self) -> list[tuple[str, str]]:
        texts = {pair for p in self.registry.plans.values() for pair in plan_texts(p.plan)}
        texts |= {(text, lang) for lang, text in self.settings.dialplans.apology.items()
                  if lang in self.settings.prompts.voices}
        if self.webrtc is not None:
            texts |= {(text, lang) for lang, text in self.settings.webrtc.busy_message.items()
                      if lang in self.settings.prompts.voices}
        return sorted(texts)

    def is_plan_text(self, text: str, language: str) -> bool:
        """Is this one of the live dialplans' own prompts (or the apology, the busy
        message), as opposed to a per-call text?"""
        live = tuple((plan_id, p.version) for plan_id, p in self.registry.plans.items())
        if self._plan_texts[0] != live:
            self._plan_texts = (live, frozenset(self.prompt_texts()))
        return (text, language) in self._plan_texts[1]

    async def render_prompts(self, progress: Progress | None = None) -> int:
        rendered = await self.renderer.render_all(self.prompt_texts(), progress)
        return len(rendered)

    def prompts_changed(self) -> None:
        """A newly published version is live: render its new prompts now, in the background,
        so its first callers hear them without waiting for a render (a Mandarin sentence in
        the neural voice takes seconds). A publish during the rendering renders again."""
        self._render_again = True
        if self._prerender is None or self._prerender.done():
            self._prerender = asyncio.create_task(self._render_published(),
                                                  name="ivr-prerender")

    async def _render_published(self) -> None:
        while self._render_again:
            self._render_again = False
            try:
                count = await self.render_prompts()
            except PromptError as err:  # calls still render what they need, as before
                _LOG.warning("could not render the published prompts ahead: %s", err)
            else:
                _LOG.info("published prompts ready (%d)", count)

    async def start(self, progress: Progress | None = None) -> list[str]:
        notes = [] if self.registry.plans else await self.load_dialplans()
        if closed_note := await self.close_left_open():
            notes.append(closed_note)
        notes += await self.share_keys()
        voice, voice_notes = await self.load_voice()
        notes += voice_notes
        emotion, emotion_note = await asyncio.to_thread(load_scorer)
        notes.append(emotion_note)
        self.runner = self._make_runner(voice, emotion)
        await self.render_prompts(progress)
        # The models just loaded are millions of long-lived objects: move them out of the
        # collector's reach, or every full collection pauses all calls for a tenth of a second.
        gc.collect()
        gc.freeze()
        await self.lease.start()
        self.agi_address = await self.agi.start(self.runner)
        self._http = web.AppRunner(build_web_app(
            self.metrics, self.calls, self.dialplans, lambda: self.started, self.status,
            not_ready=self.not_ready,
            engine=self.engine, recordings=self.recordings, settings=self.settings.web,
            desk=self.desk,
            phone=Softphone(self.webrtc, self.settings.webrtc.offers_per_minute)
            if self.webrtc is not None else None,
            console=Console(self.engine, self.settings.timezone, self.board)),
            access_log=None)
        await self._http.setup()
        host, port = parse_hostport(self.settings.http.bind)
        site = web.TCPSite(self._http, host, port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.http_address = sockets[0].getsockname()[:2] if sockets else (host, port)
        if self.surveys is not None and not self.surveys.base_url:
            self.surveys.base_url = f"http://{self.http_address[0]}:{self.http_address[1]}"
        return notes

    @contextlib.asynccontextmanager
    async def running(self, progress: Progress | None = None) -> AsyncIterator[Hotline]:
        """Start everything; on exit drain calls, flush the store and close."""
        try:
            await self.start(progress)
            runner = self.runner
            assert runner is not None
            async with asyncio.TaskGroup() as tg:
                writer = tg.create_task(self.writer.run(), name="ivr-writer")
                watcher = tg.create_task(
                    self.registry.watch(self.settings.dialplans.poll_seconds, self.published,
                                        self.prompts_changed),
                    name="ivr-watch")
                sealer = tg.create_task(self.recording.run(), name="ivr-rec-sealer")
                lease = tg.create_task(self.lease.run(), name="ivr-lease")
                lag = tg.create_task(probe_loop_lag(self.metrics.loop_lag.observe),
                                     name="ivr-loop-lag")
                collector = None
                if self.settings.gc_full_seconds > 0:
                    collector = tg.create_task(FullCollections(self.settings.gc_full_seconds,
                                                   self.metrics.gc_full.observe).run(),
                                   name="ivr-gc")
                surveys = (tg.create_task(self.surveys.run(), name="ivr-survey-texts")
                           if self.surveys is not None else None)
                if self.webrtc is not None:
                    tg.create_task(self.webrtc.serve(runner), name="ivr-webrtc")
                if self.ari is not None:
                    tg.create_task(self.ari.serve(runner), name="ivr-ari")
                helpers = []
                if self.ami is not None and self.queues is not None:
                    helpers.append(tg.create_task(self.ami.run(), name="ivr-ami"))
                    helpers.append(tg.create_task(self.queues.run_dialler(),
                                                  name="ivr-callbacks"))
                self.ready = self.started = True
                try:
                    yield self
                finally:
                    self.ready = False
                    await self.lease.renew("draining")
                    drains = [self.agi.drain(self.settings.drain_seconds)]
                    if self.webrtc is not None:
                        drains.append(self.webrtc.drain(self.settings.drain_seconds))
                    if self.ari is not None:
                        drains.append(self.ari.drain(self.settings.drain_seconds))
                    left = sum(await asyncio.gather(*drains))
                    if left:
                        _LOG.warning("drain-timeout: %d calls cut at shutdown", left)
                    await self.recording.final_seal()  # no plaintext outlives the server
                    lease.cancel()
                    if await self.writer.wait_idle(CLOSE_TIMEOUT):
                        await self.lease.stop()  # else its lease runs out: others close them
                    if self.ami is not None:
                        await self.ami.stop()
                    for helper in helpers:
                        helper.cancel()
                    watcher.cancel()
                    lag.cancel()
                    if collector is not None:
                        collector.cancel()
                    sealer.cancel()
                    if surveys is not None:
                        surveys.cancel()
                    writer.cancel()
        finally:
            await self.close()

    async def load_voice(self) -> tuple[VoiceConfig, list[str]]:
        """The voice configuration, assembled once: a recogniser for every dialplan language
        and the intent model (both loaded off the loop), with notes for the console. Without
        an intent model, open questions keep their keypad menu.

        Raises ``speech-language-unconfigured`` (refuse to serve) or ``asr-model-*``.
        """
        speech = self.settings.speech
        languages = {lang for p in self.registry.plans.values() for lang in p.plan.languages}
        check_languages(languages, speech)
        recognizers, failed = await asyncio.to_thread(
            load_recognizers, languages, speech, self.speech_pool,
            models_dir=self.settings.models_dir)
        self.settings.record_dir.mkdir(parents=True, exist_ok=True)
        notes = [f"speech: {lang} by {r.name}" for lang, r in sorted(recognizers.items())]
        notes += [f"speech: {lang} keypad only ({err.code}: {err.message})"
                  for lang, err in sorted(failed.items())]
        understander, intents_note = await asyncio.to_thread(load_understander,
                                                             self.settings.intents)
        endpoint = speech.endpoint
        listener = SpeechListener(recognizers, vad_aggressiveness=speech.vad_aggressiveness)
        endpointing = EndpointConfig(end_silence=endpoint.end_silence, no_input=endpoint.no_input,
                                     max_utterance=endpoint.max_utterance,
                                     min_speech=endpoint.min_speech,
                                     pause=min(0.2, endpoint.end_silence),
                                     complete_silence=min(endpoint.complete_silence,
                                                          endpoint.end_silence))
        min_confidence = {lang: cfg.min_confidence for lang, cfg in speech.languages.items()}
        if understander is None:  # phrases only, the default bands
            voice = VoiceConfig(listener=listener, endpoint=endpointing,
                                min_confidence=min_confidence)
        else:
            voice = VoiceConfig(listener=listener, endpoint=endpointing,
                                min_confidence=min_confidence, understander=understander,
                                intent_bands=understander.bands,
                                intent_timeout=self.settings.intents.timeout)
        return voice, [*notes, intents_note]

    async def close(self) -> None:
        self.desk.close()
        await self.published.close()
        await self.platform.close()
        if self.shared is not None:
            await self.shared.close()
        self.speech_pool.shutdown()
        if self._http is not None:
            await self._http.cleanup()
        if self._prerender is not None and not self._prerender.done():
            self._prerender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prerender
        await self.prompts.aclose()
        await self.renderer.aclose()
        await self.engine.dispose()


async def serve(settings: Settings, *, announce: Callable[[str], None],
                progress: Progress | None = None) -> int:
    """``ivr serve``: run until SIGTERM/SIGINT, then drain calls in progress and exit."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    hotline = Hotline(settings)
    for note in await hotline.share_keys():
        announce(note)
    for note in await hotline.load_dialplans():
        announce(note)
    if closed_note := await hotline.close_left_open():
        announce(closed_note)
    if not hotline.registry.plans:
        announce(f"warning: no valid dialplan in {settings.dialplans.dir}; every call goes to "
                 f"queue {settings.dialplans.default_queue}")
    async with hotline.running(progress):
        agi = hotline.agi_address
        http = hotline.http_address
        announce(f"FastAGI on agi://{agi[0]}:{agi[1]}/<dialplan id>" if agi else "FastAGI down")
        if http:
            announce(f"Web on http://{http[0]}:{http[1]}/  (supervisors sign in there; add one "
                     "with `ivr users add NAME --role supervisor`; /healthz, /metrics)")
            if hotline.webrtc is not None:
                announce(f"Softphone on http://{http[0]}:{http[1]}/softphone  (call the hotline "
                         "from a browser; or `ivr call --url http://"
                         f"{http[0]}:{http[1]}`)")
        if hotline.ari is not None:
            announce(f"ARI: Stasis application {settings.ari.app!r} on {settings.ari.url} "
                     f"(audio on {settings.ari.media_host} ports {settings.ari.media_ports}; "
                     "state on /healthz)")
        announce("Hotline is ready. Ctrl-C or SIGTERM drains calls in progress and stops.")
        await stop.wait()
        active = hotline.active_calls()
        announce(f"stopping: draining {active} call(s) "
                 f"(up to {settings.drain_seconds:.0f} s)")
    return 0
