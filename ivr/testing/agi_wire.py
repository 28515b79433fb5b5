"""What the fake Asterisk says on the FastAGI wire, as res_agi does: the env block, command
lines split into words, and the fixed reply lines (agi_cli.txt, raw_agi_hangup.txt)."""

from __future__ import annotations

import itertools
import re
import time

HANGUP_LINE = "HANGUP"
DEAD_CHANNEL = "511 Command Not Permitted on a dead channel or intercept routine"
UNKNOWN_COMMAND = "510 Invalid or unknown command"
USAGE_END = "520 End of proper usage."
ENCODING, ERRORS = "utf-8", "surrogateescape"
_CALL_SEQ = itertools.count(0x20)


class UsageError(Exception):
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


def int_arg(args: list[str], index: int, default: int | None = None) -> int:
    """sscanf("%d") of an argument (520 if it is no number); with a default, C's atoi()."""
    match = re.match(r"\s*([+-]?\d+)", args[index]) if index < len(args) else None
    if match:
        return int(match.group(1))
    if default is None:
        raise UsageError
    return default if index >= len(args) else 0


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
    return block.encode(ENCODING, ERRORS)
