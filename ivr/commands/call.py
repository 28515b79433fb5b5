"""``ivr call``: phone a running Hotline over WebRTC from the terminal (headless, aiortc).

Steps run in the order given: ``--say TEXT`` (spoken by espeak-ng; Mandarin by the Kokoro
voice :data:`CALLER_VOICE_ZH` when the neural extra is installed), ``--say-file F.wav``,
``--press KEYS``. Prints each prompt Hotline played, what it understood and the outcome.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from ivr.audio.wav import resample
from ivr.commands import HELP
from ivr.config import Settings
from ivr.errors import ConfigError, PromptError
from ivr.hostport import parse_hostport
from ivr.telephony.prompt_files import read_wav

ESPEAK_VOICES = {"en-US": "en-us", "zh-CN": "cmn-latn-pinyin"}
"""The caller's voice per language (Mandarin is read from pinyin, as the prompts are)."""
CALLER_VOICE_ZH = "kokoro:jf_alpha"
"""The caller's Mandarin voice with the neural extra: a style other than the prompts'."""


class _Step(argparse.Action):
    """Collects --say/--say-file/--press into one ordered list."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        steps = list(getattr(namespace, "steps", None) or [])
        steps.append((self.const, values))
        namespace.steps = steps


def register(sub: Any, add_command: Any) -> None:
    p = add_command(sub, "call", cmd_call, HELP["call"], needs_db=False)
    p.add_argument("--url", metavar="BASE_URL",
                   help="the server's base address (default: this machine's server from the "
                        "settings' http.bind, e.g. http://127.0.0.1:8080)")
    p.add_argument("--say", action=_Step, const="say", metavar="TEXT",
                   help="say TEXT when Hotline listens (espeak-ng; Mandarin: the Kokoro "
                        "voice when installed); repeatable, in order")
    p.add_argument("--say-file", action=_Step, const="say-file", metavar="F.wav",
                   help="say the audio of a WAV file; repeatable, in order")
    p.add_argument("--press", action=_Step, const="press", metavar="KEYS",
                   help="press KEYS (0-9 * #) when Hotline takes keys; repeatable, in order")
    p.add_argument("--language", default=None, help="ask for this language (en-US, zh-CN)")
    p.add_argument("--wav", metavar="OUT.wav", help="save what Hotline said (8 kHz)")
    p.add_argument("--max-seconds", type=float, default=120.0,
                   help="hang up after this long (default 120)")
    p.add_argument("--patient", action="store_true",
                   help="let every prompt finish before answering (default: barge in)")
    p.add_argument("--address", action="append", metavar="ADDR",
                   help="local address for media (repeatable; default 127.0.0.1)")
    p.set_defaults(steps=[])


def local_url(bind: str) -> str:
    """The base address of the server listening on ``bind`` (``HOST:PORT``) as seen from
    this machine: a wildcard address is reached over loopback."""
    host, port = parse_hostport(bind)
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def make_steps(pairs: list[tuple[str, str]], language: str | None) -> list[Any]:
    """Turn (kind, value) pairs into caller steps; speech is synthesised here."""
    from ivr.speech import kokoro
    from ivr.speech.pinyin import speakable
    from ivr.telephony.headless import SPEAK_RATE, Step
    from ivr.testing.speech_audio import espeak

    steps = []
    for kind, value in pairs:
        if kind == "press":
            keys = value.strip().upper()
            if not keys or any(ch not in "0123456789*#ABCD" for ch in keys):
                raise ConfigError("call-bad-keys", f"--press {value!r}: use 0-9 * # A-D")
            steps.append(Step("press", keys=keys, label=keys))
        elif kind == "say":
            voice = ESPEAK_VOICES.get(language or "en-US", "en-us")
            try:
                if (language or "").lower() == "zh-cn" and kokoro.installed():
                    samples = kokoro.speak(value, CALLER_VOICE_ZH, SPEAK_RATE)
                else:
                    samples = espeak(speakable(value, voice), voice, rate=SPEAK_RATE)
            except (OSError, RuntimeError, LookupError) as err:
                raise ConfigError("call-no-tts", f"cannot synthesise speech: {err}") from err
            steps.append(Step("say", samples=samples, label=value))
        else:
            try:
                samples, rate = read_wav(Path(value))
            except (OSError, PromptError) as err:
                raise ConfigError("call-bad-wav", f"--say-file {value}: {err}") from err
            steps.append(Step("say", samples=resample(samples, rate, SPEAK_RATE), label=value))
    return steps


def cmd_call(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    from ivr.telephony.headless import HeadlessCaller

    steps = make_steps(args.steps, args.language)
    url = args.url or local_url(settings.http.bind)
    caller = HeadlessCaller(url, steps, language=args.language,
                            max_seconds=args.max_seconds, patient=args.patient,
                            wav_out=Path(args.wav) if args.wav else None,
                            addresses=tuple(args.address or ["127.0.0.1"]))
    report = asyncio.run(caller.run())
    lines = [f"call {report.call_id or '-'}: media {'DTLS-SRTP' if report.dtls else 'not secured'}"]
    for event in report.events:
        kind = event.get("type")
        if kind == "prompt":
            lines.append(f"  hotline: {event.get('text')}")
        elif kind == "heard":
            said = event.get("text") or event.get("digits") or event.get("choice") or \
                event.get("result") or event.get("collected")
            lines.append(f"  understood ({event.get('mode')}): {said}")
    if report.error:
        lines.append(f"error [{report.error.get('code')}]: {report.error.get('message')}")
    lines.append(f"outcome: {report.outcome}" + (f" ({report.queue})" if report.queue else ""))
    out.result(report.as_json(), "\n".join(lines))
    return 0 if report.outcome != "failed" and not report.error else 1
