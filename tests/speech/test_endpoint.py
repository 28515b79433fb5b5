"""The endpointing state machine: pure, driven by VAD decisions and frame durations."""

import pytest

from ivr.speech.endpoint import EndpointConfig, Endpointer, Turn

F = 0.02


def feed(ep: Endpointer, pattern: list[tuple[bool, float]]) -> list[tuple[Turn, float]]:
    out = []
    for is_speech, seconds in pattern:
        for _ in range(round(seconds / F)):
            out += [(e.kind, round(e.at, 2)) for e in ep.feed(is_speech, F)]
    return out


def test_defaults_are_the_industry_s() -> None:
    c = EndpointConfig()
    assert (c.end_silence, c.no_input, c.max_utterance) == (0.6, 5.0, 15.0)


def test_utterance_ends_after_600_ms_of_trailing_silence() -> None:
    ep = Endpointer()
    ep.arm()
    events = feed(ep, [(False, 1.0), (True, 1.0), (False, 1.0)])
    assert events == [(Turn.SPEECH_START, 1.2), (Turn.PAUSE, 2.2), (Turn.END, 2.6)]


def test_a_short_pause_inside_the_answer_does_not_end_it() -> None:
    ep = Endpointer()
    events = feed(ep, [(True, 0.5), (False, 0.4), (True, 0.5), (False, 0.7)])
    kinds = [k for k, _ in events]
    assert kinds == [Turn.SPEECH_START, Turn.PAUSE, Turn.RESUME, Turn.PAUSE, Turn.END]


def test_a_cough_is_not_speech() -> None:
    ep = Endpointer(EndpointConfig(min_speech=0.2))
    ep.arm()
    assert feed(ep, [(True, 0.1), (False, 0.5), (True, 0.1), (False, 4.5)]) == [
        (Turn.NO_INPUT, 5.0)]  # a cough does not restart the no-input timer


def test_no_input_counts_from_the_end_of_the_prompt() -> None:
    ep = Endpointer()
    assert feed(ep, [(False, 10.0)]) == []  # prompt still playing: not armed
    ep.arm()
    assert feed(ep, [(False, 5.0)]) == [(Turn.NO_INPUT, 15.0)]


def test_an_eight_minute_ramble_is_cut_at_max_utterance() -> None:
    ep = Endpointer()
    events = feed(ep, [(True, 480.0)])
    assert events[-1] == (Turn.MAX_UTTERANCE, 15.0) and ep.done


def test_per_question_overrides() -> None:
    ep = Endpointer(EndpointConfig(end_silence=1.0, no_input=2.0, pause=0.3))
    events = feed(ep, [(True, 0.4), (False, 1.2)])
    assert events == [(Turn.SPEECH_START, 0.2), (Turn.PAUSE, 0.7), (Turn.END, 1.4)]


def test_a_complete_answer_may_end_the_turn_only_after_a_sentence_pause() -> None:
    """A pause between two sentences (about 0.4 s) is no end of turn even for a complete
    answer; half a second is."""
    ep = Endpointer(EndpointConfig())
    for _ in range(30):
        ep.feed(True, 0.02)
    for _ in range(20):  # 0.4 s of silence
        ep.feed(False, 0.02)
    assert ep.paused and not ep.complete_pause
    for _ in range(5):  # 0.5 s
        ep.feed(False, 0.02)
    assert ep.complete_pause and not ep.done
    with pytest.raises(ValueError):
        EndpointConfig(end_silence=0.6, complete_silence=0.8)
