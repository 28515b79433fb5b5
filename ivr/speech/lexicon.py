"""How English prompts are spoken: a small pronunciation lexicon for the TTS front end.

A prompt's text is what callers are meant to hear and what the call record shows; the
lexicon only changes the text handed to the voice (its *spoken form*), so a word the voice
blurs on an 8 kHz line is said more clearly. The shipped entries are in
``ivr/speech/lexicon_en.yaml``; an admin's file (``prompts.lexicon``) adds to them and wins.
Three kinds of entry, all matched as whole words in any case:

* ``say``: a respelling any English voice reads (``refunds: re-funds``); its first letter
  takes the case of the word it replaces;
* ``ipa``: IPA with stress marks for the packaged neural (Piper) voices, handed over as
  Piper's ``[[ phonemes ]]`` (with the punctuation after the word, so the sentence keeps
  its ending); espeak-ng voices ignore these;
* ``pause_before``: names said after a short pause (a comma) when a word other than an
  article, preposition or possessive runs into them (``calling, Acme Pay``);
* ``sentence_after``: openers said as a sentence of their own when a comma follows them at
  the start of a sentence (``Thank you, you are verified.`` is said ``Thank you. You are
  verified.``: run together, "you are" was heard as "you're" and the rest blurred).

The renderer's cache key holds the spoken form, so a changed lexicon renders the prompts it
touches again and leaves the others cached.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any

import yaml

from ivr.errors import ConfigError

SHIPPED = Path(__file__).with_name("lexicon_en.yaml")
_RUN_ON = frozenset({
    "a", "an", "the", "to", "in", "into", "on", "at", "of", "for", "from", "by", "with",
    "about", "under", "over", "as", "this", "that", "these", "those", "your", "our", "my",
    "their", "his", "her", "its"})
"""Words after which a name is said without a pause ("in the Acme Pay app")."""
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*(?: [A-Za-z][A-Za-z'-]*)*")
_RESPELLING = re.compile(r"[A-Za-z][A-Za-z' ,-]*")
_PUNCTUATION = ".,;:?!"


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Pronunciation entries for English prompts (module docstring)."""

    say: Mapping[str, str] = field(default_factory=dict)
    ipa: Mapping[str, str] = field(default_factory=dict)
    pause_before: tuple[str, ...] = ()
    sentence_after: tuple[str, ...] = ()

    def spoken(self, text: str, *, neural: bool) -> str:
        """What the voice is given to say ``text``; ``neural``: a Piper voice."""
        out = text
        for opener in self.sentence_after:
            out = _pattern(opener, before=r"(^|[.?!]\s+)", after=r",\s+(\w)").sub(_stop, out)
        for name in self.pause_before:
            out = _pattern(name, before=r"\b([A-Za-z']+)\s+").sub(_pause, out)
        for word, respelling in self.say.items():
            out = _pattern(word).sub(partial(_respell, respelling), out)
        if neural:
            for word, ipa in self.ipa.items():
                out = _pattern(word, after=f"([{re.escape(_PUNCTUATION)}]?)").sub(
                    partial(_phonemes, ipa), out)
        return out

    def merged(self, other: Lexicon) -> Lexicon:
        """This lexicon with ``other``'s entries added (``other`` wins)."""
        return Lexicon(say={**self.say, **other.say}, ipa={**self.ipa, **other.ipa},
                       pause_before=tuple(dict.fromkeys([*self.pause_before,
                                                         *other.pause_before])),
                       sentence_after=tuple(dict.fromkeys([*self.sentence_after,
                                                           *other.sentence_after])))


def load_lexicon(extra: Path | None = None) -> Lexicon:
    """The shipped lexicon, plus the entries of ``extra`` (an admin's YAML file) if given.

    A missing or malformed file is a :class:`ConfigError` naming the file and the entry.
    """
    lexicon = _shipped()
    return lexicon if extra is None else lexicon.merged(read_lexicon(extra))


def read_lexicon(path: Path) -> Lexicon:
    """One lexicon file (the format of ``ivr/speech/lexicon_en.yaml``)."""
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except OSError as err:
        raise ConfigError("config-bad-lexicon",
                          f"cannot read the pronunciation lexicon {path}: {err}") from err
    except yaml.YAMLError as err:
        raise ConfigError("config-bad-lexicon", f"{path}: not valid YAML: {err}") from err
    return parse_lexicon(data or {}, str(path))


def parse_lexicon(data: Any, source: str) -> Lexicon:
    def bad(message: str) -> ConfigError:
        return ConfigError("config-bad-lexicon", f"{source}: {message}")

    if not isinstance(data, dict):
        raise bad("expected a mapping with say, ipa, pause_before and sentence_after")
    unknown = set(data) - {"say", "ipa", "pause_before", "sentence_after"}
    if unknown:
        raise bad(f"unknown section(s) {', '.join(sorted(map(str, unknown)))} "
                  "(use say, ipa, pause_before, sentence_after)")
    tables: dict[str, dict[str, str]] = {}
    for section in ("say", "ipa"):
        entries = data.get(section) or {}
        if not isinstance(entries, dict):
            raise bad(f"{section}: expected a mapping of word: pronunciation")
        table: dict[str, str] = {}
        for word, value in entries.items():
            if not isinstance(word, str) or not _WORD.fullmatch(word.strip()):
                raise bad(f"{section}: {word!r} is not a word or phrase of letters")
            if not isinstance(value, str) or not value.strip():
                raise bad(f"{section}: {word!r} needs a non-empty pronunciation")
            if section == "say" and not _RESPELLING.fullmatch(value.strip()):
                raise bad(f"say: {word!r}: a respelling is letters, spaces, hyphens, "
                          f"apostrophes and commas, got {value!r}")
            if section == "ipa" and ("[" in value or "]" in value):
                raise bad(f"ipa: {word!r}: give the phonemes without [[ ]], got {value!r}")
            table[" ".join(word.lower().split())] = value.strip()
        tables[section] = table
    lists: dict[str, tuple[str, ...]] = {}
    for section in ("pause_before", "sentence_after"):
        phrases = data.get(section) or []
        if not isinstance(phrases, list) or not all(
                isinstance(n, str) and _WORD.fullmatch(n.strip()) for n in phrases):
            raise bad(f"{section}: expected a list of words or phrases of letters")
        lists[section] = tuple(" ".join(n.split()) for n in phrases)
    return Lexicon(say=tables["say"], ipa=tables["ipa"], **lists)


@cache
def _shipped() -> Lexicon:
    return read_lexicon(SHIPPED)


@cache
def _pattern(phrase: str, *, before: str = "", after: str = "") -> re.Pattern[str]:
    words = r"\s+".join(re.escape(w) for w in phrase.split())
    return re.compile(f"{before}(?<![\\w'-])({words})(?![\\w'-]){after}", re.IGNORECASE)


def _pause(match: re.Match[str]) -> str:
    word, name = match.group(1), match.group(2)
    return match.group(0) if word.lower() in _RUN_ON else f"{word}, {name}"


def _stop(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}. {match.group(3).upper()}"


def _respell(respelling: str, match: re.Match[str]) -> str:
    """The respelling, its first letter in the case of the word's."""
    if match.group(0)[:1].isupper():
        return respelling[:1].upper() + respelling[1:]
    return respelling


def _phonemes(ipa: str, match: re.Match[str]) -> str:
    """Piper's raw phonemes, with the punctuation after the word (it ends the sentence)."""
    return f"[[{ipa}{match.group(2)}]]"
