"""One channel in AGI() for the fake Asterisk: a command line in, reply lines out.

No sockets, no clock: each command's duration on a real line is simulated
(:mod:`ivr.testing.agi_timing`). The command table follows res_agi's.
"""

from __future__ import annotations

import contextlib
import re
import wave
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

from ivr.testing.agi_script import DTMF_KEYS, Action, HangUp, Press, Silence, Speak
from ivr.testing.agi_timing import (
    command_seconds,
    sample_rate,
    silent_record_seconds,
    wav_seconds,
)
from ivr.testing.agi_wire import (
    DEAD_CHANNEL,
    HANGUP_LINE,
    UNKNOWN_COMMAND,
    USAGE_END,
    UsageError,
    int_arg,
    parse_args,
)
from ivr.testing.mixmonitor import SimulatedMixMonitor, dtmf_tone, prompt_audio

DEFAULT_ENDPOS = 3404  # `STREAM FILE beep ""` played to endpos=3404 (agi_cli.txt)
RECORD_ENDPOS = 16000  # 2 s at 8 kHz; real ones vary with frames received (46080, 16320)
# Prompt files Asterisk can play, with bytes per sample (None: read the WAV header).
_SOUND_EXTS = {".wav": None, ".wav16": None, ".ulaw": 1, ".alaw": 1, ".sln": 2, ".sln16": 2}


def _sample_count(path: Path) -> int:
    """Samples in a prompt file: the endpos Asterisk reports once it played to the end."""
    per_sample = _SOUND_EXTS[path.suffix]
    if per_sample is None:
        with contextlib.suppress(wave.Error, EOFError), wave.open(str(path), "rb") as wav:
            return wav.getnframes()
        per_sample = 2
    return path.stat().st_size // per_sample


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
                    raise UsageError
                self._took = 0.0
                replies = [action] if isinstance(action, str) else action(self, args)
                if replies is not None:
                    seconds = command_seconds(args, replies, self._prompt_seconds)
                    self.durations.append(self._took if seconds is None else seconds)
                if self.mixmonitor is not None and replies:
                    self._monitor_hears(args, replies)
                return replies
            except UsageError:
                usage = "Usage: " + " ".join(words).upper()
                return ["520-Invalid command syntax.  Proper usage follows:", usage, USAGE_END]
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
        offset = int_arg(args, 4) if len(args) == 5 else 0
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
        timeout, max_digits = int_arg(args, 3, 0), int_arg(args, 4, 1024)
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
        int_arg(args, 5)
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
        timeout = int_arg(args, 3)
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
