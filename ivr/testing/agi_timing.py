"""How long a real Asterisk spends on one AGI command: the fake Asterisk's simulated clock.

Nothing here sleeps. From res_agi.c and app.c: a prompt plays for its file's length (one
interrupted by a key or a hang-up for half of it, where ``agi_peer`` reports half its endpos);
GET DATA plays its prompt, then waits its timeout for a first key (0 means app.c's 6 s); WAIT
FOR DIGIT waits its timeout; RECORD FILE of a silent caller stops after its ``s=`` silence
limit, else at its timeout (handle_recordfile). SAY takes no time (a peer limit).
"""

from __future__ import annotations

import contextlib
import re
import wave
from collections.abc import Callable
from pathlib import Path

GET_DATA_DEFAULT_TIMEOUT = 6.0
"""Seconds GET DATA waits for a first key when its timeout is 0 (app.c ast_app_getdata)."""


def _number(text: str) -> int:
    """C's atoi(): the leading integer, 0 when there is none."""
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else 0


def sample_rate(path: Path) -> int:
    """Samples per second of a prompt file (8 kHz unless its header or extension says)."""
    if path.suffix in (".wav", ".wav16"):
        with contextlib.suppress(wave.Error, EOFError), wave.open(str(path), "rb") as wav:
            return wav.getframerate()
    return 16000 if path.suffix.endswith("16") else 8000


def wav_seconds(path: Path) -> float:
    """Length of a WAV file in seconds (0 when it is no WAV)."""
    with contextlib.suppress(wave.Error, EOFError), wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()
    return 0.0


def silent_record_seconds(args: list[str]) -> tuple[float, float]:
    """RECORD FILE of a caller who says nothing: (seconds it runs, seconds of audio it keeps).

    With ``s=N`` it stops after N s of silence and rewinds N-1 s of it before replying, so
    1 s is kept; without, it records until its timeout (``args[5]`` in ms)."""
    silence = next((max(0, _number(a[2:])) for a in args[6:] if a.startswith("s=")), 0)
    limit = _number(args[5]) / 1000 if len(args) > 5 else 0.0
    if silence:
        runs = min(float(silence), limit) if limit > 0 else float(silence)
        return runs, min(runs, 1.0)
    return max(0.0, limit), max(0.0, limit)


def command_seconds(args: list[str], replies: list[str],
                    prompt_seconds: Callable[[str], float]) -> float | None:
    """Seconds Asterisk spends on the command ``args`` that answered ``replies``; None for
    commands whose reply does not tell (RECORD FILE: the caller's audio decides)."""
    command = " ".join(args[:2]).lower()
    match = re.match(r"^200 result=(-?\d*)", replies[0]) if replies else None
    result = match.group(1) if match else ""
    if command == "stream file":
        offset = _number(args[4]) / 8000 if len(args) == 5 else 0.0
        whole = max(0.0, prompt_seconds(args[2]) - offset)
        return whole if result == "0" else whole / 2
    if command == "get data":
        played = prompt_seconds(args[2]) if args[2] else 0.0
        timeout = max(0, _number(args[3]) if len(args) > 3 else 0) / 1000
        timeout = timeout or GET_DATA_DEFAULT_TIMEOUT
        if result.startswith("-"):
            return played / 2
        if not result:
            return played + timeout
        # Keys came while the prompt played; "(timeout)": the caller stopped before the last.
        return played / 2 + (timeout if "(timeout)" in replies[0] else 0.0)
    if command == "wait for":
        return max(0, _number(args[3])) / 1000 if result == "0" else 0.0
    if command == "record file":
        return None
    return 0.0
