"""The FastAGI parser against lines a real Asterisk 22 sent (tests/fixtures/asterisk/)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from ivr.errors import AgiError
from ivr.telephony import agi_protocol as proto
from ivr.telephony.agi import channel_language

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk"
_RECEIVED = re.compile(r"^\[\s*[\d.]+\] (?:AGI)?<< (?P<line>'.*')$")


def received_lines(name: str) -> list[str]:
    out = []
    for text in (FIXTURES / name).read_text().splitlines():
        match = _RECEIVED.match(text)
        if match:
            out.append(ast.literal_eval(match.group("line")).rstrip("\n"))
    return out


def test_recorded_environment_block_parses() -> None:
    lines = received_lines("agi_cli.txt")
    env_lines = lines[: lines.index("")]
    env = proto.parse_environment(env_lines)
    assert env.script == "hotline"
    assert env.caller is None  # "unknown" with agi_callingpres 67: withheld
    assert env.get("channel") == "Local/s@ivr-in-00000013;2"
    assert env.get("accountcode") is None  # "agi_accountcode: " (trailing space)
    assert channel_language(env.language) == "en-US"


def test_every_recorded_reply_parses() -> None:
    replies = [line for name in ("agi_cli.txt", "agi_wav.txt", "agi_short.txt")
               for line in received_lines(name) if line and not line.startswith("agi_")]
    assert len(replies) >= 15
    for line in replies:
        if line == proto.HANGUP_LINE:
            continue
        reply = proto.parse_reply(line)
        assert reply.code == 200


@pytest.mark.parametrize("line,result,data,endpos", [
    ("200 result=0 endpos=3404", "0", None, 3404),
    ("200 result=-1 endpos=11840", "-1", None, 11840),
    ("200 result=12", "12", None, None),
    ("200 result=1 (timeout) endpos=46080", "1", "timeout", 46080),
    ("200 result=1 (+15551234567/Local/s@ivr-in-00000000;2)", "1",
     "+15551234567/Local/s@ivr-in-00000000;2", None),
    ("200 result= (timeout)", "", "timeout", None),
    ("200 result=35", "35", None, None),
])
def test_reply_shapes(line: str, result: str, data: str | None, endpos: int | None) -> None:
    reply = proto.parse_reply(line)
    assert (reply.result, reply.data, reply.endpos) == (result, data, endpos)


def test_dead_channel_and_unknown_command_replies() -> None:
    dead = proto.parse_reply("511 Command Not Permitted on a dead channel or intercept routine")
    assert dead.code == 511
    assert proto.parse_reply("510 Invalid or unknown command").code == 510


@pytest.mark.parametrize("garbage", ["HTTP/1.1 200 OK", "200 result=abc", "", "hello", "2000 x"])
def test_garbage_is_an_agi_protocol_error(garbage: str) -> None:
    with pytest.raises(AgiError) as err:
        proto.parse_reply(garbage)
    assert err.value.code == "agi-protocol"


def test_digits_from_ascii_codes() -> None:
    assert proto.digit_from_code(35) == "#"
    assert proto.digit_from_code(49) == "1"
    assert proto.digit_from_code(0) is None and proto.digit_from_code(-1) is None
    assert proto.digit_from_code(65 + 25) is None  # 'Z' is no key


@pytest.mark.parametrize("value", ["a b", 'x"y', "1\nHANGUP", "$(rm -rf /)", "a;b"])
def test_unsafe_values_never_reach_asterisk(value: str) -> None:
    with pytest.raises(AgiError) as err:
        proto.set_variable("IVR_QUEUE", value)
    assert err.value.code == "agi-unsafe-argument"


def test_commands_match_what_asterisk_was_sent() -> None:
    assert proto.set_variable("IVR_RESULT", "ok") == "SET VARIABLE IVR_RESULT ok"
    assert proto.get_data("beep", 8, 4) == "GET DATA beep 8000 4"
    assert proto.stream_file("beep", "") == 'STREAM FILE beep ""'
    assert proto.wait_for_digit(3) == "WAIT FOR DIGIT 3000"
    assert proto.record_file("/var/spool/asterisk/monitor/agi-rec", "wav", 6, 0) == (
        "RECORD FILE /var/spool/asterisk/monitor/agi-rec wav # 6000 0")


# Garbage Asterisk never sends (res_agi prints key results with %d from a C char, endpos as
# a long, GET DATA's keys as typed) is a protocol error, not a crash in our code.
@pytest.mark.parametrize("line", [
    "200 result=0 endpos=" + "9" * 5000,
    "200 result=" + "1" * 5000,
    "200 result=-" + "1" * 30,
])
def test_oversized_numbers_are_agi_protocol_errors(line: str) -> None:
    with pytest.raises(AgiError) as err:
        proto.parse_reply(line)
    assert err.value.code == "agi-protocol"


@pytest.mark.parametrize("line", ["200 result=999999", "200 result=99999999999 endpos=3404",
                                  "200 result=-2 endpos=0", "200 result=-7", "200 result="])
def test_key_results_out_of_range_are_agi_protocol_errors(line: str) -> None:
    with pytest.raises(AgiError) as err:
        proto.key_result(proto.parse_reply(line))
    assert err.value.code == "agi-protocol"


@pytest.mark.parametrize("line,code", [("200 result=0 endpos=3404", 0), ("200 result=35", 35),
                                       ("200 result=-1 endpos=11840", -1)])
def test_recorded_key_results(line: str, code: int) -> None:
    assert proto.key_result(proto.parse_reply(line)) == code


@pytest.mark.parametrize("code", [256, 99999999, -2])
def test_key_codes_out_of_range_are_agi_protocol_errors(code: int) -> None:
    with pytest.raises(AgiError) as err:
        proto.digit_from_code(code)
    assert err.value.code == "agi-protocol"


def test_get_data_keys_as_asterisk_prints_them() -> None:
    assert proto.data_digits(proto.parse_reply("200 result=12"), 4) == "12"
    assert proto.data_digits(proto.parse_reply("200 result=4711"), 4) == "4711"
    assert proto.data_digits(proto.parse_reply("200 result= (timeout)"), 4) == ""
    assert proto.data_digits(proto.parse_reply("200 result=1*2"), 4) == "1*2"  # '*' is a key
    assert proto.data_digits(proto.parse_reply("200 result=-1"), 4) is None


@pytest.mark.parametrize("line", ["200 result=-5", "200 result=123456", "200 result=" + "1" * 900])
def test_get_data_garbage_is_an_agi_protocol_error_that_hides_the_keys(line: str) -> None:
    with pytest.raises(AgiError) as err:
        proto.data_digits(proto.parse_reply(line), 4)
    assert err.value.code == "agi-protocol"
    assert "123" not in str(err.value) and "111" not in str(err.value)
