"""The one process that owns the pyttsx3 engine, and the jobs that run in it.

It also runs the packaged Piper voices (``piper:NAME``, :mod:`ivr.speech.neural`) and the
Kokoro Mandarin voice (``kokoro:NAME``, :mod:`ivr.speech.kokoro`) when one is configured: a
job for such a voice never touches pyttsx3.

pyttsx3 2.99's espeak driver works in a worker once these quirks are handled:

* It runs espeak-ng in AUDIO_OUTPUT_RETRIEVAL mode, which is asynchronous: espeak's own
  thread synthesizes, writes the WAV from a callback, and applies the queued rate. But
  ``runAndWait`` can return before the prompt is written (always on an engine's first run),
  and it starts with a ``stop()`` that, if espeak is still busy, cancels the new prompt at
  once: about 3 back-to-back renders in 1,000 came out empty. The worker waits for espeak
  to go idle before and after ``runAndWait`` (0 bad in 10,000), which also keeps a voice
  change from racing a running synthesis.
* Its ``Synth`` tells espeak the text is ``len(text) * 10`` bytes long, and espeak copies
  that many: a heap over-read that segfaults on texts of about 100 kB. The worker swaps in
  a ``Synth`` that passes the true size.
* A failing ``setProperty`` (an unknown voice, say) does not raise: the engine reports it on
  its ``error`` topic and keeps the previous voice, so a Mandarin prompt would quietly come
  out in English. The worker listens on ``error`` and checks the voice after each render.
* Its voice ids are espeak identifiers in lower case (``gmw/en-us``, ``sit/cmn``), not the
  names ``espeak-ng -v`` takes (``en-us``, ``cmn``); :func:`_voice_id` maps one to the other.
* ``getProperty("rate")`` is unreliable (its ctypes prototype of ``espeak_GetParameter``
  lacks the ``current`` argument): the rate is set, never read back.
* ``save_to_file`` prints "Audio saved to ..." on stdout; the worker swallows it.
* Audio is gathered by ``bytes +=``, so render time grows with the square of the length:
  ~15 ms for a 4 s prompt, 1.4 s for 5 minutes, 2 minutes for an hour.
* Nothing in it has a timeout: the server kills a worker whose job outlives
  ``render_timeout`` and starts a new one, as it does after any failed job.

The worker ends itself when the server that started it is gone (killed with SIGKILL, say):
its job queue holds both ends of its own pipe, so it would otherwise wait for a job for
ever, holding its voices' memory (hundreds of MB) after every killed instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ivr.speech.kokoro import is_kokoro_voice
from ivr.speech.neural import is_piper_voice, length_scale, model_path
from ivr.speech.pinyin import pitch_for, speakable


class TtsWorker:
    """The one process that owns the pyttsx3 engine; replaced when anything goes wrong."""

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_engine,
        )

    @property
    def pid(self) -> int | None:
        # No public way before Python 3.14 (kill_workers); typeshed declares _processes.
        return next(iter(self._pool._processes or {}), None)

    def submit(self, text: str, voice: str, rate: int, out: Path) -> Future[str]:
        return self._pool.submit(_render_in_worker, text, voice, rate, str(out))

    async def stop(self, *, kill: bool) -> None:
        if kill and (pid := self.pid) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)


# In the worker process ------------------------------------------------------------
_ENGINE: Any = None  # the worker's one pyttsx3 engine; None in the server process
_ESPEAK: Any = None  # pyttsx3's ctypes binding of libespeak-ng
_ENGINE_ERRORS: list[BaseException] = []
_VOICE_IDS: dict[str, str] = {}
_PIPER: dict[str, Any] = {}  # Piper voices loaded in this worker, by name


PARENT_CHECK_SECONDS = 1.0
"""How often the worker looks whether the server that started it still runs."""


def _exit_with_parent(parent: int) -> None:
    """Worker thread: end the worker once ``parent`` is gone (it is then reparented)."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _start_engine() -> None:
    """Worker initializer: create the pyttsx3 engine, once per process."""
    global _ENGINE, _ESPEAK
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True,
                     name="ivr-exit-with-server").start()
    import pyttsx3  # only the worker loads espeak-ng
    from pyttsx3.drivers import _espeak

    _espeak.Synth = _synth_with_true_size  # the driver looks it up on each call
    _ESPEAK = _espeak
    _ENGINE = pyttsx3.init("espeak")
    _ENGINE.connect("error", _on_engine_error)


def _synth_with_true_size(
    text: str | bytes,
    position: int = 0,
    position_type: int = 1,  # POS_CHARACTER
    end_position: int = 0,
    flags: int = 0,
    user_data: Any = None,
) -> int:
    """pyttsx3's ``_espeak.Synth``, but telling espeak the real size of the text."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    size = len(data) + 1  # with the NUL that ctypes appends
    return int(
        _ESPEAK.cSynth(data, size, position, position_type, end_position, flags, None, user_data)
    )


def _on_engine_error(name: object = None, exception: BaseException | None = None) -> None:
    _ENGINE_ERRORS.append(exception or RuntimeError("pyttsx3 reported an error"))


def _render_in_worker(text: str, voice: str, rate: int, out: str) -> str:
    """Worker job: speak ``text`` into ``out`` as 22,050 Hz WAV; return ``out``."""
    if is_piper_voice(voice):
        return _render_with_piper(text, voice, rate, out)
    if is_kokoro_voice(voice):
        return _render_with_kokoro(text, voice, rate, out)
    voice_id = _voice_id(voice)
    Path(out).unlink(missing_ok=True)  # an abandoned job's file must not pass for ours
    _ENGINE_ERRORS.clear()
    _ENGINE.setProperty("voice", voice_id)
    _ENGINE.setProperty("rate", rate)
    _ENGINE.setProperty("pitch", pitch_for(voice))  # set for every job: it persists
    _ENGINE.save_to_file(speakable(text, voice), out)  # Mandarin: pinyin (jieba loads here)
    _wait_until_espeak_idle()  # else runAndWait may cancel this prompt (module docstring)
    with contextlib.redirect_stdout(io.StringIO()):
        _ENGINE.runAndWait()
        _wait_until_espeak_idle()  # the WAV is written on espeak's thread
    try:
        if _ENGINE_ERRORS:
            raise RuntimeError(f"pyttsx3 reported {_ENGINE_ERRORS[0]!r}")
        if (selected := _ENGINE.getProperty("voice")) != voice_id:
            raise RuntimeError(f"asked espeak-ng for voice {voice_id}, it used {selected}")
        if not Path(out).is_file():
            raise RuntimeError("pyttsx3 finished without writing any audio")
    except RuntimeError:
        Path(out).unlink(missing_ok=True)
        raise
    return out


def _render_with_piper(text: str, voice: str, rate: int, out: str) -> str:
    """A packaged Piper voice (loaded once per worker) speaks ``text`` into ``out``."""
    import wave

    from piper import PiperVoice, SynthesisConfig

    if voice not in _PIPER:
        _PIPER[voice] = PiperVoice.load(str(model_path(voice)))  # LookupError: not installed
    Path(out).unlink(missing_ok=True)
    # No sampling noise: a text always sounds the same (one cache entry, reproducible tests).
    config = SynthesisConfig(length_scale=length_scale(rate), noise_scale=0.0, noise_w_scale=0.0)
    try:
        with wave.open(out, "wb") as wav:
            _PIPER[voice].synthesize_wav(text, wav, syn_config=config)
    except BaseException:
        Path(out).unlink(missing_ok=True)
        raise
    return out


def _render_with_kokoro(text: str, voice: str, rate: int, out: str) -> str:
    """The packaged Kokoro model (loaded once per worker) speaks Mandarin ``text``."""
    from ivr.speech import kokoro
    from ivr.telephony.prompt_files import write_wav

    Path(out).unlink(missing_ok=True)
    samples = kokoro.speak(text, voice, kokoro.SAMPLE_RATE, speed=1.0 / length_scale(rate))
    write_wav(Path(out), samples, kokoro.SAMPLE_RATE)  # atomic: no half-written file
    return out


def _wait_until_espeak_idle() -> None:
    # espeak_Synchronize does the same with 20 ms sleeps; the server enforces the timeout.
    while _ESPEAK.IsPlaying():
        time.sleep(0.001)


def _voice_id(voice: str) -> str:
    """pyttsx3's id of an espeak-ng voice: 'en-us' -> 'gmw/en-us', 'cmn' -> 'sit/cmn'."""
    wanted = voice.lower()
    if wanted not in _VOICE_IDS:
        voices = _ENGINE.getProperty("voices")
        matches = (
            [v.id for v in voices if v.id == wanted]
            + [v.id for v in voices if v.id.rsplit("/", 1)[-1] == wanted]
            + [v.id for v in voices if wanted in (lang.lower() for lang in v.languages or ())]
        )
        if not matches:
            raise LookupError(f"espeak-ng has no voice {voice!r} (see `espeak-ng --voices`)")
        _VOICE_IDS[wanted] = matches[0]
    return _VOICE_IDS[wanted]
