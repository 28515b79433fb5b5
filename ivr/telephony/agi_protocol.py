"""Pure FastAGI parsing and command building: bytes and strings in, values out.

Shapes follow what a real Asterisk 22 sends (see tests/fixtures/agi/ and Asterisk's res_agi):
an environment block of ``agi_key: value`` lines ended by an empty line, then one reply per
command such as ``200 result=1 (timeout) endpos=46080``, plus the unsolicited ``HANGUP``
line Asterisk sends once it notices the caller left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.errors import AgiError

HANGUP_LINE = "HANGUP"
_ENV_LINE = re.compile(r"^(agi_[a-z0-9_]+): ?(.*)$")
# GET DATA's keys come back as they are (res_agi: ``200 result=%s``, '*' and A-D included),
# at most 1024 of them (its buffer); endpos is a C long. Longer numbers are garbage.
_REPLY_200 = re.compile(
    r"^200 result=(?P<result>-?[0-9]{1,19}|[0-9*#A-D]{0,1024})(?: \((?P<data>.*)\))?"
    r"(?: endpos=(?P<endpos>-?[0-9]{1,19}))?\s*$"
)
_REPLY_OTHER = re.compile(r"^(?P<code>[1-9]\d\d)(?P<sep>[ -])(?P<text>.*)$")
# Arguments we put on a command line: no whitespace, quotes or control characters, so a
# value can never split into extra arguments or a second command.
_SAFE_ARG = re.compile(r"^[A-Za-z0-9_./:+@=,-]*$")
_DIGITS = re.compile(r"^[0-9*#A-D]*$")
MAX_ENV_LINES = 200
MAX_USAGE_LINES = 100
"""A ``520-`` block longer than this never ends (res_agi's longest usage text is far shorter)."""
MAX_KEY_CODE = 255
"""Key results are a key's character code (a C char), 0 for none and -1 for hang-up/failure."""


def parse_env_line(line: str) -> tuple[str, str]:
    """Split one environment line (without its newline) into key and value."""
    match = _ENV_LINE.match(line)
    if not match:
        raise AgiError("agi-protocol", f"not an AGI environment line: {line[:80]!r}")
    return match.group(1), match.group(2)


@dataclass(frozen=True, slots=True)
class AgiEnvironment:
    """The ``agi_*`` block Asterisk sends when it connects."""

    values: dict[str, str]

    def get(self, key: str) -> str | None:
        """A value, with Asterisk's ``unknown`` and empty strings as None."""
        value = self.values.get(f"agi_{key}")
        return None if value in (None, "", "unknown") else value

    @property
    def script(self) -> str:
        """The route: ``agi://host:port/hotline`` gives ``hotline``."""
        script = self.get("network_script") or ""
        return script.split("?", 1)[0].strip("/")

    @property
    def caller(self) -> str | None:
        return self.get("callerid")

    @property
    def language(self) -> str | None:
        return self.get("language")


def parse_environment(lines: list[str]) -> AgiEnvironment:
    """Build the environment from its lines (the terminating empty line excluded)."""
    values: dict[str, str] = {}
    for line in lines:
        key, value = parse_env_line(line)
        values[key] = value
    if "agi_request" not in values and "agi_network_script" not in values:
        raise AgiError("agi-protocol", "environment block has no agi_request")
    return AgiEnvironment(values)


@dataclass(frozen=True, slots=True)
class AgiReply:
    """One reply line, parsed."""

    code: int
    result: str | None
    """The raw ``result=`` value (may be empty: ``result= (timeout)``)."""
    data: str | None
    """The parenthesised part, e.g. ``timeout`` or a variable's value."""
    endpos: int | None
    line: str

    @property
    def result_int(self) -> int | None:
        try:
            return int(self.result) if self.result else None
        except ValueError:
            return None

    @property
    def timed_out(self) -> bool:
        return self.data == "timeout"


def parse_reply(line: str) -> AgiReply:
    """Parse a reply line (without its newline); garbage raises ``agi-protocol``."""
    match = _REPLY_200.match(line)
    if match:
        endpos = match.group("endpos")
        return AgiReply(
            code=200,
            result=match.group("result"),
            data=match.group("data"),
            endpos=int(endpos) if endpos is not None else None,
            line=line,
        )
    other = _REPLY_OTHER.match(line)
    if other and other.group("code") != "200":
        return AgiReply(int(other.group("code")), None, other.group("text"), None, line)
    raise AgiError("agi-protocol", f"unexpected reply from Asterisk: {line[:80]!r}")


def safe_arg(value: str, what: str) -> str:
    """Refuse anything that could break out of one AGI argument."""
    if not _SAFE_ARG.match(value):
        raise AgiError("agi-unsafe-argument", f"refusing to send {what} {value[:40]!r} to Asterisk")
    return value


def stream_file(media: str, escape_digits: str) -> str:
    if not _DIGITS.match(escape_digits):
        raise AgiError("agi-unsafe-argument", f"bad escape digits {escape_digits!r}")
    return f'STREAM FILE {safe_arg(media, "file name")} "{escape_digits}"'


def get_data(media: str, timeout: float, max_digits: int) -> str:
    return f"GET DATA {safe_arg(media, 'file name')} {int(timeout * 1000)} {int(max_digits)}"


def wait_for_digit(timeout: float) -> str:
    return f"WAIT FOR DIGIT {int(timeout * 1000)}"


def set_variable(name: str, value: str) -> str:
    # As recorded from Asterisk: ``SET VARIABLE IVR_RESULT ok`` (safe values need no quotes).
    return f'SET VARIABLE {safe_arg(name, "variable name")} {safe_arg(value, "value") or chr(34) * 2}'


def record_file(path: str, fmt: str, max_seconds: float, silence_seconds: float,
                escape_digits: str = "#") -> str:
    """``s=`` (stop after that much silence) is whole seconds in res_agi."""
    if not escape_digits or not _DIGITS.match(escape_digits):
        raise AgiError("agi-unsafe-argument", f"bad escape digits {escape_digits!r}")
    silence = f" s={int(silence_seconds)}" if silence_seconds else ""
    return (
        f"RECORD FILE {safe_arg(path, 'file name')} {safe_arg(fmt, 'format')} {escape_digits} "
        f"{int(max_seconds * 1000)} 0{silence}"
    )


def key_result(reply: AgiReply) -> int:
    """``STREAM FILE`` and ``WAIT FOR DIGIT``: -1 (hang-up or failure), 0 (no key) or the code
    of the key pressed; res_agi prints nothing else there, so anything else is garbage."""
    code = reply.result_int
    if code is None:
        raise AgiError("agi-protocol", "reply carries no key code")
    if not -1 <= code <= MAX_KEY_CODE:
        raise AgiError("agi-protocol", f"key code {code} out of range")
    return code


def data_digits(reply: AgiReply, max_digits: int) -> str | None:
    """``GET DATA``'s keys ('#' ends input and is not included), or None for -1 (hang-up or
    a prompt Asterisk could not play). Garbage raises ``agi-protocol`` without the value (it
    may be a PIN)."""
    result = reply.result or ""
    if result == "-1":
        return None
    if not _DIGITS.match(result) or len(result) > max(max_digits, 0):
        raise AgiError("agi-protocol", f"GET DATA answered {len(result)} characters that are "
                       f"not up to {max_digits} keys")
    return result


def digit_from_code(code: int | None) -> str | None:
    """``WAIT FOR DIGIT``/``STREAM FILE``/``RECORD FILE`` report a key as its ASCII code
    (``35`` is ``#``); 0, -1 (hang-up) or nothing is no key. Other codes outside 0..255 are
    ``agi-protocol``."""
    if code is None or code in (0, -1):
        return None
    if not 0 < code <= MAX_KEY_CODE:
        raise AgiError("agi-protocol", f"key code {code} out of range")
    char = chr(code)
    return char if _DIGITS.match(char) else None
