"""The English pronunciation lexicon: prompts keep their text, the voice gets the spoken form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivr.errors import ConfigError
from ivr.speech.lexicon import Lexicon, load_lexicon, read_lexicon
from ivr.speech.tts import PromptRenderer

SHIPPED = load_lexicon()


def test_shipped_lexicon_respells_for_every_voice_and_keeps_the_case() -> None:
    for neural in (True, False):
        assert SHIPPED.spoken("Refunds go to our refunds team.", neural=neural) == (
            "Re-funds go to our re-funds team.")
    assert SHIPPED.spoken("refundsteam refunds-x", neural=True) == "refundsteam refunds-x"


def test_ipa_reaches_only_the_neural_voice_with_the_sentence_ending_kept() -> None:
    assert SHIPPED.spoken("Then press pound. Or star.", neural=True) == (
        "Then press [[pʰˈaʊnd.]] Or star.")
    assert SHIPPED.spoken("Press the pound key", neural=True) == "Press the [[pʰˈaʊnd]] key"
    assert SHIPPED.spoken("Then press pound.", neural=False) == "Then press pound."
    assert SHIPPED.spoken("A lost card", neural=True) == "A [[lˈɔːst]] card"


def test_a_brand_gets_a_pause_unless_an_article_or_preposition_leads_into_it() -> None:
    assert SHIPPED.spoken("Thank you for calling Acme Pay.", neural=True) == (
        "Thank you for calling, Acme Pay.")
    for text in ("Welcome to Acme Pay.", "In the Acme Pay app.", "Acme Pay, hello.",
                 "Hello, Acme Pay.", "Calling Acme Payments."):
        assert SHIPPED.spoken(text, neural=True) == text


def test_an_opener_becomes_a_sentence_of_its_own_only_at_a_sentence_start() -> None:
    assert SHIPPED.spoken("Thank you, you are verified. OK. Thank you, we know.",
                          neural=True) == (
        "Thank you. You are verified. OK. Thank you. We know.")
    for text in ("Thank you for calling.", "We thank you, Sir.", "Thank you.",
                 "So, thank you, all"):
        assert SHIPPED.spoken(text, neural=True) == text


def test_an_admin_file_adds_entries_and_wins(tmp_path: Path) -> None:
    extra = tmp_path / "lexicon.yaml"
    extra.write_text("say:\n  Refunds: ree funds\n  IBAN: eye ban\n"
                     "pause_before: [Acme Card]\n", "utf-8")
    lexicon = load_lexicon(extra)
    assert lexicon.spoken("Your IBAN and refunds: please call Acme Card.", neural=False) == (
        "Your Eye ban and ree funds: please call, Acme Card.")
    assert lexicon.spoken("press pound", neural=True) == "press [[pʰˈaʊnd]]"  # shipped kept


@pytest.mark.parametrize(("text", "complaint"), [
    ("say: [refunds]", "say: expected a mapping"),
    ("say:\n  refunds: '[[x]]'", "a respelling is letters"),
    ("ipa:\n  pound: '[[p]]'", "without [[ ]]"),
    ("say:\n  '12': twelve", "not a word"),
    ("sya:\n  a: b", "unknown section(s) sya"),
    ("pause_before: Acme", "pause_before: expected a list"),
    ("sentence_after: [1]", "sentence_after: expected a list"),
    ("say: {a: ''}", "non-empty"),
    ("say: [", "not valid YAML"),
])
def test_a_bad_lexicon_file_is_a_clear_config_error(tmp_path: Path, text: str,
                                                    complaint: str) -> None:
    path = tmp_path / "lexicon.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as caught:
        read_lexicon(path)
    assert caught.value.code == "config-bad-lexicon"
    assert str(path) in caught.value.message and complaint in caught.value.message


def test_a_missing_lexicon_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_lexicon(tmp_path / "nope.yaml")
    assert "nope.yaml" in caught.value.message


async def test_the_voice_says_the_spoken_form_and_the_cache_follows_it(tmp_path: Path) -> None:
    """A respelling really reaches the voice (the audio is longer), its key differs from the
    same text without it, and index.json keeps the prompt's text beside the spoken form."""
    text = "Press zed."
    plain = PromptRenderer(sounds_dir=tmp_path, asterisk_dir="/s", voices={"en-US": "en-us"},
                           rate=165, lexicon=Lexicon())
    long = PromptRenderer(sounds_dir=tmp_path, asterisk_dir="/s", voices={"en-US": "en-us"},
                          rate=165, lexicon=Lexicon(say={"zed": "zebra, zebra, zebra, zebra"}))
    try:
        assert plain.spoken(text, "en-US") == text
        assert long.spoken(text, "en-US") == "Press zebra, zebra, zebra, zebra."
        assert plain.key(text, "en-US") != long.key(text, "en-US")
        short_audio = await plain.ensure(text, "en-US")
        long_audio = await long.ensure(text, "en-US")
    finally:
        await plain.aclose()
        await long.aclose()
    assert long_audio.duration > short_audio.duration + 1.0
    index = json.loads((tmp_path / "index.json").read_text("utf-8"))
    assert index[long_audio.key]["text"] == text
    assert index[long_audio.key]["spoken"] == "Press zebra, zebra, zebra, zebra."
    assert "spoken" not in index[short_audio.key]


def test_other_languages_are_not_touched(tmp_path: Path) -> None:
    renderer = PromptRenderer(sounds_dir=tmp_path, asterisk_dir="/s",
                              voices={"en-US": "en-us", "zh-CN": "cmn-latn-pinyin"}, rate=165,
                              lexicon=Lexicon(say={"acme": "ack me"}))
    assert renderer.spoken("欢迎致电Acme支付", "zh-CN") == "欢迎致电Acme支付"
    assert renderer.spoken("Acme", "en-US") == "Ack me"
