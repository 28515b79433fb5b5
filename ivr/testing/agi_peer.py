"""A fake Asterisk 22 that calls a FastAGI server over TCP and plays a scripted caller.

Every byte follows the sessions recorded from Asterisk 22.10.1 in
/work/shared/asterisk/sessions (agi_cli.txt, agi_wav.txt, agi_short.txt, raw_agi_hangup.txt)
or, where they say nothing, Asterisk's res_agi.c (``handle_*``, ``run_agi``) and app.c
(``ast_app_getdata_full``); each behaviour names its source.

The caller's ``Press``/``Silence``/``HangUp`` actions are taken in order. A ``HangUp`` by the
next STREAM FILE, SAY, GET DATA, WAIT FOR DIGIT or RECORD FILE; a ``Press`` by the next of
those that accepts its first key (its other keys stay queued); a ``Silence`` by the next that
listens for keys. Once the script is used up the caller stays silent on the line.

Nothing waits in real time: each command's duration on a real line is simulated instead
(ivr.testing.agi_timing; ``PeerResult.durations`` and ``seconds_at``).

Peer limits: EXEC runs no application
(``200 result=-2``, res_agi's answer for one not loaded), except MixMonitor and
StopMixMonitor under ``run_call(mixmonitor=True)`` (ivr.testing.mixmonitor writes the files);
Asterisk commands missing from ``_COMMANDS`` (DATABASE, GET OPTION, SPEECH...) get 510; a 520
reply has res_agi's first and last lines but not its usage text. When the server closes,
Asterisk writes one more ``HANGUP`` into the closed socket (``run_agi``); nobody can read it,
so the peer omits it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
import wave
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ivr.testing.agi_timing import (
    command_seconds,
    sample_rate,
    silent_record_seconds,
    wav_seconds,
)
from ivr.testing.mixmonitor import SimulatedMixMonitor, dtmf_tone, prompt_audio

DTMF_KEYS = "0123456789*#ABCD"
HANGUP_LINE = "HANGUP"
DEAD_CHANNEL = "511 Command Not Permitted on a dead channel or intercept routine"
UNKNOWN_COMMAND = "510 Invalid or unknown command"
_USAGE_END = "520 End of proper usage."
DEFAULT_ENDPOS = 3404  # `STREAM FILE beep ""` played to endpos=3404 (agi_cli.txt)
RECORD_ENDPOS = 16000  # 2 s at 8 kHz; real ones vary with frames received (46080, 16320)
# Prompt files Asterisk can play, with bytes per sample (None: read the WAV header).
_SOUND_EXTS = {".wav": None, ".wav16": None, ".ulaw": 1, ".alaw": 1, ".sln": 2, ".sln16": 2}
_ENCODING, _ERRORS = "utf-8", "surrogateescape"
_CALL_SEQ = itertools.count(0x20)


@dataclass(frozen=True, slots=True)
class Press:
    """The caller keys ``keys`` (0-9 * # A-D) during the next command that accepts them."""

    keys: str

    def __post_init__(self) -> None:
        if not self.keys or any(key not in DTMF_KEYS for key in self.keys):
            raise ValueError(f"not DTMF keys: {self.keys!r}")


@dataclass(frozen=True, slots=True)
class Silence:
    """The caller presses nothing during the next command that listens for keys."""


@dataclass(frozen=True, slots=True)
class HangUp:
    """The caller hangs up during the next command that plays a prompt or waits."""


@dataclass(frozen=True, slots=True)
class Speak:
    """The caller speaks ``wav`` (a WAV file) during the next RECORD FILE, which Asterisk
    writes to the path it was given; prompts before it play to the end."""

    wav: Path


Action = Press | Silence | HangUp | Speak


@dataclass
class CallerScript:
    """What the simulated caller does, consumed in order by commands that take caller input."""

    actions: list[Action] = field(default_factory=list)

    @classmethod
    def of(cls, *steps: str | Action | None) -> CallerScript:
        """``of("9", None, "1#", "hangup")``: Press("9"), Silence(), Press("1#"), HangUp()."""
        actions: list[Action] = []
        for step in steps:
            if step is None:
                actions.append(Silence())
            elif isinstance(step, str):
                actions.append(HangUp() if step == "hangup" else Press(step))
            else:
                actions.append(step)
        return cls(actions)


@dataclass
class PeerResult:
    """Everything one simulated call saw and sent."""

    commands: list[str]  # every command line received, without the trailing newline
    replies: list[str]  # every line sent after the env block, HANGUP lines included
    variables: dict[str, str]  # from SET VARIABLE
    hung_up: bool  # the caller hung up (script) or the server sent the HANGUP command
    closed_by_server: bool  # the server closed first (the peer only quits on idle_timeout)
    reply_times: list[float]  # per command: seconds since the previous reply (or env block)
    played: list[str]  # file names given to STREAM FILE / GET DATA, in order
    recorded: list[Path] = field(default_factory=list)  # files MixMonitor wrote (mixmonitor=True)
    durations: list[float] = field(default_factory=list)
    """Per command: simulated seconds Asterisk would spend on it (prompt played, timeout)."""

    def seconds_at(self, index: int) -> float:
        """Seconds from the env block to the reply to command ``index``, as on a real line:
        the simulated durations of the commands plus the server's real time between them."""
        return sum(self.reply_times[: index + 1]) + sum(self.durations[: index + 1])


class _UsageError(Exception):
    """Bad arguments: res_agi answers 520 (RESULT_SHOWUSAGE)."""


def parse_args(line: str) -> list[str]:
    """Split a command line as res_agi's parse_args does: whitespace separates, double
    quotes group (``""`` is an empty word), a backslash makes the next character literal."""
    words: list[list[str]] = []
    quoted = escaped = in_word = False
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and not in_word:
                words.append([])
                in_word = True
        elif char in " \t" and not quoted and not escaped:
            in_word = False
        elif char == "\\" and not escaped:
            escaped = True
        else:
            if not in_word:
                words.append([])
                in_word = True
            words[-1].append(char)
            escaped = False
    return ["".join(word) for word in words]


def _int_arg(args: list[str], index: int, default: int | None = None) -> int:
    """sscanf("%d") of an argument (520 if it is no number); with a default, C's atoi()."""
    match = re.match(r"\s*([+-]?\d+)", args[index]) if index < len(args) else None
    if match:
        return int(match.group(1))
    if default is None:
        raise _UsageError
    return default if index >= len(args) else 0


def _sample_count(path: Path) -> int:
    """Samples in a prompt file: the endpos Asterisk reports once it played to the end."""
    per_sample = _SOUND_EXTS[path.suffix]
    if per_sample is None:
        with contextlib.suppress(wave.Error, EOFError), wave.open(str(path), "rb") as wav:
            return wav.getnframes()
        per_sample = 2
    return path.stat().st_size // per_sample


def agi_environment(
    host: str, port: int, *, script: str = "hotline", callerid: str = "+15551234567",
    calleridname: str = "Sim Caller", language: str = "en", dnid: str = "unknown",
    uniqueid: str | None = None, overrides: dict[str, str] | None = None,
) -> dict[str, str]:
    """The env block in Asterisk's order (agi_cli.txt, agi_wav.txt; res_agi setup_env), with
    a new channel, uniqueid and threadid per call. ``overrides`` replace values in place; new
    keys (``agi_arg_1``...) go last, where res_agi puts the AGI() arguments."""
    seq = next(_CALL_SEQ)
    has_number, has_name = callerid not in ("", "unknown"), calleridname not in ("", "unknown")
    env = {"agi_network": "yes"} | ({"agi_network_script": script} if script else {})
    env |= {
        "agi_request": f"agi://{host}:{port}/{script}" if script else f"agi://{host}:{port}",
        "agi_channel": f"Local/s@ivr-in-{seq:08x};2",
        "agi_language": language,
        "agi_type": "Local",
        "agi_uniqueid": uniqueid or f"{int(time.time())}.{2 * seq + 1}",
        "agi_version": "22.10.1",
        "agi_callerid": callerid if has_number else "unknown",
        "agi_calleridname": calleridname if has_name else "unknown",
        # 67 (number not available) when the call has no caller id at all (agi_cli.txt)
        "agi_callingpres": "0" if has_number or has_name else "67",
        "agi_callingani2": "0", "agi_callington": "0", "agi_callingtns": "0",
        "agi_dnid": dnid or "unknown", "agi_rdnis": "unknown",
        "agi_context": "ivr-in", "agi_extension": "s", "agi_priority": "2",
        "agi_enhanced": "0.0", "agi_accountcode": "",
        "agi_threadid": str(140083500000000 + seq * 0x1000),
    }
    return env | (overrides or {})


def encode_environment(env: dict[str, str]) -> bytes:
    """``key: value`` lines, then an empty line (an empty value keeps its space after ':')."""
    block = "".join(f"{key}: {value}\n" for key, value in env.items()) + "\n"
    return block.encode(_ENCODING, _ERRORS)


class SimulatedChannel:
    """One channel in AGI(): a command line in, reply lines out. No sockets, no clock."""

    def __init__(
        self, env: dict[str, str], actions: Iterable[Action], sounds_root: Path | None = None,
        mixmonitor: SimulatedMixMonitor | None = None, records_silence: bool = False,
    ) -> None:
        self.env, self.sounds_root = env, None if sounds_root is None else Path(sounds_root)
        self.records_silence = records_silence
        """A silent caller's RECORD FILE writes the silence Asterisk records (every frame it
        reads; with ``s=`` it keeps 1 s of it); False: it writes no file."""
        self.durations: list[float] = []  # per command: simulated seconds on a real line
        self._took = 0.0  # RECORD FILE's duration (its reply does not tell)
        self.mixmonitor = mixmonitor  # None: app_mixmonitor not loaded (EXEC gives -2)
        self.pending: deque[Action] = deque(actions)
        self.variables: dict[str, str] = {}
        self.played: list[str] = []
        self.dead = False  # hung up: from now on res_agi runs only commands that "run dead"

    def execute(self, line: str) -> list[str] | None:
        """The reply lines for one command, or None where Asterisk would wait for ever."""
        args = parse_args(line)
        for words, runs_dead, fewest, most, action in _COMMANDS:
            if tuple(arg.lower() for arg in args[: len(words)]) != words:
                continue
            if self.dead and not runs_dead:
                return [DEAD_CHANNEL]
            try:
                if not fewest <= len(args) <= most:
                    raise _UsageError
                self._took = 0.0
                replies = [action] if isinstance(action, str) else action(self, args)
                if replies is not None:
                    seconds = command_seconds(args, replies, self._prompt_seconds)
                    self.durations.append(self._took if seconds is None else seconds)
                if self.mixmonitor is not None and replies:
                    self._monitor_hears(args, replies)
                return replies
            except _UsageError:
                usage = "Usage: " + " ".join(words).upper()
                return ["520-Invalid command syntax.  Proper usage follows:", usage, _USAGE_END]
        return [UNKNOWN_COMMAND]

    # -- MixMonitor (ivr.testing.mixmonitor) -------------------------------------------------

    def _exec(self, args: list[str]) -> list[str]:
        """res_agi handle_exec: ``200 result=<app's return>``, -2 for an app not loaded."""
        app, data = args[1].lower(), args[2] if len(args) > 2 else ""
        if self.mixmonitor is not None and app == "mixmonitor":
            return self.mixmonitor.start(data)
        if self.mixmonitor is not None and app == "stopmixmonitor":
            return self.mixmonitor.stop()
        return ["200 result=-2"]

    def _monitor_hears(self, args: list[str], replies: list[str]) -> None:
        """What a running MixMonitor writes for this command: the prompt, then the keys."""
        assert self.mixmonitor is not None
        if not self.mixmonitor.running:
            return
        command = " ".join(args[:2]).lower()
        if command in ("stream file", "get data") and args[2]:
            path = self._prompt_file(args[2])
            length = self._prompt_length(args[2]) or DEFAULT_ENDPOS
            self.mixmonitor.hear(prompt_audio(path, length))
        match = re.match(r"^200 result=(\d*)", replies[0])
        if not match or not match.group(1) or command not in (
                "get data", "wait for digit", "stream file"):
            return
        keys = match.group(1) if command == "get data" else chr(int(match.group(1)))
        for key in keys:
            if key in DTMF_KEYS:
                self.mixmonitor.hear(dtmf_tone(key))

    def _prompt_file(self, name: str) -> Path | None:
        if self.sounds_root is None:
            return None
        stem, root = Path(name), self.sounds_root
        language = self.env.get("agi_language", "")
        for base in [stem] if stem.is_absolute() else [root / language / stem, root / stem]:
            if (path := base.with_name(base.name + ".wav")).is_file():
                return path
        return None

    def _prompt_seconds(self, name: str) -> float:
        """How long Asterisk plays ``name`` (0 when it finds no such file)."""
        if self.sounds_root is None:
            return DEFAULT_ENDPOS / 8000
        stem, root = Path(name), self.sounds_root
        language = self.env.get("agi_language", "")
        for base in [stem] if stem.is_absolute() else [root / language / stem, root / stem]:
            for ext in _SOUND_EXTS:
                if (path := base.with_name(base.name + ext)).is_file():
                    return _sample_count(path) / sample_rate(path)
        return 0.0

    # -- the caller ------------------------------------------------------------------------

    def _next(self) -> Action:
        return self.pending[0] if self.pending else Silence()

    def _take_key(self) -> str:
        press = self.pending[0]
        assert isinstance(press, Press)
        if len(press.keys) > 1:
            self.pending[0] = Press(press.keys[1:])
        else:
            self.pending.popleft()
        return press.keys[0]

    def _take_silence(self) -> None:
        if self.pending:
            self.pending.popleft()

    def _caller_hangs_up(self, reply: str) -> list[str]:
        """The command in flight answers, then the unsolicited HANGUP (raw_agi_hangup.txt)."""
        self.pending.popleft()
        self.dead = True
        return [reply, HANGUP_LINE]

    def _during_prompt(self, escape: str) -> Action:
        """What the caller does while a prompt plays that the ``escape`` keys interrupt."""
        action = self._next()
        if isinstance(action, Speak):
            return Silence()  # waits for the recording to start
        if isinstance(action, Press):
            return Press(self._take_key()) if action.keys[0] in escape else Silence()
        if isinstance(action, Silence) and escape:
            self._take_silence()
        return action

    def _prompt_length(self, name: str) -> int | None:
        """Samples in the prompt Asterisk would play; None when it finds no such file in
        ``sounds_root/<language>/`` or ``sounds_root/`` (or at the absolute path)."""
        if self.sounds_root is None:
            return DEFAULT_ENDPOS
        stem, root = Path(name), self.sounds_root
        language = self.env.get("agi_language", "")
        for base in [stem] if stem.is_absolute() else [root / language / stem, root / stem]:
            for ext in _SOUND_EXTS:
                if (path := base.with_name(base.name + ext)).is_file():
                    return _sample_count(path)
        return None

    def _prompt(self, escape: str, offset: int, length: int, endpos: bool) -> list[str]:
        """STREAM FILE and SAY: 0 at the end, the key's ASCII code, -1 on hang-up (then
        HANGUP: agi_short.txt). Where the caller acts is not scripted: an interrupted prompt
        reports half its length."""
        action = self._during_prompt(escape)
        tail = f" endpos={(offset + length) // 2}" if endpos else ""
        if isinstance(action, HangUp):
            return self._caller_hangs_up(f"200 result=-1{tail}")
        if isinstance(action, Press):
            return [f"200 result={ord(action.keys)}{tail}"]
        return [f"200 result=0 endpos={length}" if endpos else "200 result=0"]

    # -- commands (argument counts are checked from _COMMANDS) -------------------------------

    def _channel_status(self, args: list[str]) -> list[str]:
        mine = len(args) == 2 or args[2] == self.env["agi_channel"]
        return ["200 result=6" if mine else "200 result=-1"]  # 6: up (agi_cli.txt)

    def _stream_file(self, args: list[str]) -> list[str]:
        offset = _int_arg(args, 4) if len(args) == 5 else 0
        self.played.append(args[2])
        length = self._prompt_length(args[2])
        if length is None:
            # res_agi handle_streamfile: -1 and the channel stays up; run_agi goes on reading
            # commands and only sets AGISTATUS=FAILURE for when the session ends. No HANGUP.
            return [f"200 result=-1 endpos={offset}"]
        return self._prompt(args[3], min(offset, length), length, endpos=True)

    def _get_data(self, args: list[str]) -> list[str] | None:
        """Digits up to '#' (not included) or max: agi_cli.txt 12# gives 12; agi_wav.txt 4711#
        with max 4 gives 4711 and the '#' stays queued (the next WAIT FOR DIGIT got 35)."""
        timeout, max_digits = _int_arg(args, 3, 0), _int_arg(args, 4, 1024)
        if args[2]:
            self.played.append(args[2])
            if self._prompt_length(args[2]) is None:
                return ["200 result=-1"]  # ast_app_getdata_full: no HANGUP, the call goes on
        if max_digits == 0:
            return ["200 result=-1"]  # ast_readstring_full refuses a zero length
        action = self._next()
        if isinstance(action, HangUp):
            return self._caller_hangs_up("200 result=-1")
        if isinstance(action, Silence | Speak):  # a caller about to speak keys nothing
            if isinstance(action, Silence):
                self._take_silence()
            return None if timeout < 0 else ["200 result= (timeout)"]
        digits = ""
        for _ in action.keys:
            key = self._take_key()
            if key == "#":  # a lone '#' gives "200 result=" (res_agi handle_getdata)
                return [f"200 result={digits}"]
            digits += key
            if len(digits) >= max_digits:
                return [f"200 result={digits}"]
        return [f"200 result={digits} (timeout)"]  # the caller stopped keying before max

    def _get_variable(self, args: list[str]) -> list[str]:
        value = self._variable(args[2])
        return ["200 result=0"] if value is None else [f"200 result=1 ({value})"]  # agi_cli.txt

    def _get_full_variable(self, args: list[str]) -> list[str]:
        """``${CALLERID(num)}/${CHANNEL}`` gives ``(/Local/...)`` with no caller id (agi_cli.txt).
        Unset variables expand to nothing as in Asterisk; a function the peer does not know
        gives ``200 result=0`` (a peer limit: Asterisk would evaluate it)."""
        if len(args) == 5 and args[4] != self.env["agi_channel"]:
            return ["200 result=0"]
        names = re.findall(r"\$\{([^{}]*)\}", args[3])
        if any(self._variable(name) is None and name.endswith(")") for name in names):
            return ["200 result=0"]
        text = re.sub(r"\$\{([^{}]*)\}", lambda m: self._variable(m.group(1)) or "", args[3])
        return [f"200 result=1 ({text})"]

    def _variable(self, name: str) -> str | None:
        """A channel variable, a builtin (GET VARIABLE CHANNEL: raw_agi_hangup.txt), or
        CALLERID(num|name), empty without a caller id (agi_cli.txt); None when unset."""
        if name in self.variables:
            return self.variables[name]
        known = {"CHANNEL": "channel", "UNIQUEID": "uniqueid", "CONTEXT": "context",
                 "EXTEN": "extension", "PRIORITY": "priority",
                 "CALLERID(num)": "callerid", "CALLERID(name)": "calleridname"}
        value = self.env.get(f"agi_{known[name]}") if name in known else None
        return "" if value == "unknown" and name.startswith("CALLERID") else value

    def _hangup(self, args: list[str]) -> list[str]:
        """``200 result=1``, then HANGUP once Asterisk notices (README: AGI HANGUP command)."""
        if len(args) == 2 and args[1] != self.env["agi_channel"]:
            return ["200 result=-1"]
        self.dead = True
        return ["200 result=1", HANGUP_LINE]

    def _record_file(self, args: list[str]) -> list[str]:
        """``200 result=1 (timeout) endpos=N`` (agi_cli.txt, agi_wav.txt); an escape key ends it
        with ``(dtmf)``, a hang-up with ``(hangup)`` (res_agi handle_recordfile)."""
        _int_arg(args, 5)
        if isinstance(self._next(), Speak):
            speak = self.pending.popleft()
            assert isinstance(speak, Speak)
            data = speak.wav.read_bytes()
            Path(args[2] + "." + args[3]).write_bytes(data)
            samples = max(0, (len(data) - 44) // 2)
            self._took = wav_seconds(speak.wav)
            return [f"200 result=1 (timeout) endpos={samples}"]
        action = self._during_prompt(args[4])
        if isinstance(action, HangUp):
            return self._caller_hangs_up(f"200 result=-1 (hangup) endpos={RECORD_ENDPOS}")
        if isinstance(action, Press):
            return [f"200 result={ord(action.keys)} (dtmf) endpos={RECORD_ENDPOS}"]
        self._took, kept = silent_record_seconds(args)
        if not self.records_silence or args[3] != "wav":
            return [f"200 result=1 (timeout) endpos={RECORD_ENDPOS}"]
        samples = int(kept * 8000)
        with wave.open(f"{args[2]}.wav", "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(bytes(2 * samples))
        return [f"200 result=1 (timeout) endpos={samples}"]

    def _set_variable(self, args: list[str]) -> list[str]:
        if len(args) >= 4:  # `SET VARIABLE X "a b"` stores a b: parse_args took the quotes
            self.variables[args[2]] = args[3]
        return ["200 result=1"]  # agi_cli.txt; after the hang-up too (raw_agi_hangup.txt)

    def _wait_for_digit(self, args: list[str]) -> list[str] | None:
        """The key's ASCII code (agi_wav.txt: '#' gives 35), 0 on timeout, -1 on hang-up."""
        timeout = _int_arg(args, 3)
        if timeout == 0:
            return ["200 result=0"]  # ast_waitfordigit_full does not wait at all
        action = self._next()
        if isinstance(action, HangUp):
            return self._caller_hangs_up("200 result=-1")
        if isinstance(action, Press):
            return [f"200 result={ord(self._take_key())}"]
        self._take_silence()
        return None if timeout < 0 else ["200 result=0"]


_Handler = Callable[[SimulatedChannel, list[str]], list[str] | None]
_MANY = 128  # res_agi's MAX_ARGS
# (words, runs on a dead channel, fewest and most words, fixed reply or handler): after
# res_agi's command table; the fixed replies are from agi_cli.txt (ANSWER, VERBOSE).
_COMMANDS: tuple[tuple[tuple[str, ...], bool, int, int, str | _Handler], ...] = (
    (("answer",), False, 1, _MANY, "200 result=0"),
    (("channel", "status"), False, 2, 3, SimulatedChannel._channel_status),
    (("exec",), True, 2, _MANY, SimulatedChannel._exec),
    (("get", "data"), False, 3, _MANY, SimulatedChannel._get_data),
    (("get", "full", "variable"), True, 4, 5, SimulatedChannel._get_full_variable),
    (("get", "variable"), True, 3, 3, SimulatedChannel._get_variable),
    (("hangup",), False, 1, 2, SimulatedChannel._hangup),
    (("noop",), True, 1, _MANY, "200 result=0"),
    (("record", "file"), False, 6, _MANY, SimulatedChannel._record_file),
    *(
        (("say", kind), False, 4, _MANY, lambda ch, args: ch._prompt(args[3], 0, 0, False))
        for kind in ("alpha", "date", "datetime", "digits", "number", "phonetic", "time")
    ),
    (("set", "variable"), True, 2, _MANY, SimulatedChannel._set_variable),
    (("stream", "file"), False, 4, 5, SimulatedChannel._stream_file),
    (("verbose",), True, 2, _MANY, "200 result=1"),
    (("wait", "for", "digit"), False, 4, 4, SimulatedChannel._wait_for_digit),
)


async def _read_command(reader: asyncio.StreamReader, idle_timeout: float) -> bytes:
    """The next command line; b"" once the server closed."""
    try:
        async with asyncio.timeout(idle_timeout):
            return await reader.readline()
    except TimeoutError:
        raise TimeoutError(
            f"no AGI command for {idle_timeout}s: Asterisk would keep the channel in AGI() for "
            "ever (the peer gives up so that tests cannot hang)"
        ) from None
    except ConnectionError:
        return b""


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def run_call(
    host: str, port: int, *, script: str = "hotline", script_actions: CallerScript | None = None,
    callerid: str = "+15551234567", calleridname: str = "Sim Caller", language: str = "en",
    dnid: str = "unknown", uniqueid: str | None = None, sounds_root: Path | None = None,
    idle_timeout: float = 30.0, env_overrides: dict[str, str] | None = None,
    reply_delay: Callable[[str], float] | None = None, mixmonitor: bool = False,
    records_silence: bool = False,
    tamper: Callable[[str, list[str]], list[str]] | None = None,
) -> PeerResult:
    """Place one call into the FastAGI server at host:port and play ``script_actions``.

    ``reply_delay(command)`` gives seconds to hold each reply (a prompt takes time to play);
    the benchmark uses it to keep many calls in flight at a realistic pace.
    ``records_silence``: a silent caller's RECORD FILE writes silence, as on a real line.
    ``tamper(command, replies)`` gives the lines actually sent instead of the channel's
    replies: garbage for protocol tests, ``[]`` for an Asterisk that stops answering.

    Returns when the server closes the socket (the dialplan would go on). Like Asterisk the
    peer never ends a session itself; as a test safety net it raises TimeoutError after
    ``idle_timeout`` s without a command. Empty ``callerid`` and ``calleridname`` give
    agi_cli.txt's block without caller id; ``sounds_root`` makes missing prompts fail.
    """
    env = agi_environment(
        host, port, script=script, callerid=callerid, calleridname=calleridname,
        language=language, dnid=dnid, uniqueid=uniqueid, overrides=env_overrides,
    )
    channel = SimulatedChannel(env, script_actions.actions if script_actions else (), sounds_root,
                               SimulatedMixMonitor() if mixmonitor else None, records_silence)
    result = PeerResult([], [], channel.variables, False, False, [], channel.played,
                        durations=channel.durations)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(encode_environment(env))
        with contextlib.suppress(ConnectionError):  # a server that hung up at once reads EOF
            await writer.drain()
        sent_at = time.perf_counter()
        while raw := await _read_command(reader, idle_timeout):
            result.reply_times.append(time.perf_counter() - sent_at)
            line = raw.decode(_ENCODING, _ERRORS).removesuffix("\n")
            result.commands.append(line)
            replies = channel.execute(line)
            if replies is None:  # e.g. WAIT FOR DIGIT -1 with a caller who never keys
                await asyncio.sleep(idle_timeout)
                raise TimeoutError(f"{line!r} waits for ever: the scripted caller never acts")
            if tamper is not None:
                replies = tamper(line, replies)
            result.replies.extend(replies)
            if reply_delay is not None and (delay := reply_delay(line)) > 0:
                await asyncio.sleep(delay)
            writer.write("".join(f"{reply}\n" for reply in replies).encode(_ENCODING, _ERRORS))
            with contextlib.suppress(ConnectionError):  # the server left; its EOF comes next
                await writer.drain()
            sent_at = time.perf_counter()
        result.closed_by_server = True
    finally:
        await _close(writer)
    result.hung_up = channel.dead
    if channel.mixmonitor is not None:
        channel.mixmonitor.channel_gone()  # the channel is destroyed: files close
        result.recorded = list(channel.mixmonitor.files)
    return result


async def send_raw(
    host: str, port: int, data: bytes, *, read_timeout: float = 5.0, half_close: bool = False
) -> bytes:
    """Connect, send ``data`` as is (then EOF if ``half_close``) and return everything the
    server sent until it closed. TimeoutError if it keeps the socket open past
    ``read_timeout``: a server must end every session itself (README)."""
    reader, writer = await asyncio.open_connection(host, port)
    received = bytearray()
    try:
        with contextlib.suppress(ConnectionError):
            writer.write(data)
            await writer.drain()
            if half_close and writer.can_write_eof():
                writer.write_eof()
        async with asyncio.timeout(read_timeout):
            with contextlib.suppress(ConnectionError):
                while chunk := await reader.read(65536):
                    received += chunk
    except TimeoutError:
        raise TimeoutError(f"server kept the socket open; it sent {bytes(received)!r}") from None
    finally:
        await _close(writer)
    return bytes(received)
