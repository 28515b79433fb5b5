"""The rule-based distress scorer: words and prosody combined into one score per turn.

Words are the stronger evidence on a phone line (clear cues carry enough confidence on their
own); prosody adds to them in proportion to how sure it is, which is more when the caller's
earlier turns give a baseline. No evidence (silence, music, one word, another language)
scores 0 with confidence 0: never an escalation on nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from ivr.emotion import prosody as prosody_mod
from ivr.emotion import words
from ivr.emotion.types import NO_EVIDENCE, Distress, Prosody, TurnInput

PROSODY_WEIGHT = 0.85
"""How far a fully aroused voice, against the caller's own baseline, can push the score
(alone: two such turns escalate on the rolling rule, one does not)."""
CUE_FIRES = 0.3
"""A word cue at or above this is named as a reason."""
VOICE_FIRES = 0.4
"""Voice arousal at or above this is named as a reason."""


class CueScorer:
    """An :class:`~ivr.emotion.types.EmotionScorer` from lexical cues, sentiment and prosody."""

    name = "cues-v1"

    def score(self, turn: TurnInput, earlier: Sequence[Prosody] = ()) -> Distress:
        text_ev = (words.assess(turn.text or "", turn.language, turn.agent_requests)
                   if turn.text is not None or turn.agent_requests else None)
        if text_ev is None and turn.audio is None:
            return NO_EVIDENCE
        signals: dict[str, float] = dict(text_ev.cues) if text_ev else {}
        reasons = [words.REASONS[k] for k, v in signals.items() if v >= CUE_FIRES]
        text_score = text_ev.score if text_ev else 0.0
        text_conf = text_ev.confidence if text_ev else 0.0
        feats = prosody_mod.features(turn.audio) if turn.audio is not None else None
        voice_score = voice_conf = 0.0
        if feats is not None:
            voice_score, voice_conf, deltas = prosody_mod.arousal(feats, earlier)
            signals.update(deltas)
            signals["arousal"] = round(voice_score, 3)
            if voice_score >= VOICE_FIRES:
                reasons.append(_voice_reason(deltas, bool(earlier)))
        if text_conf == 0.0:
            text_score = 0.0  # words we cannot read do not pull the voice down either
        if voice_conf == 0.0 and text_conf == 0.0:
            return Distress(0.0, 0.0, signals, (), feats)
        voice_part = PROSODY_WEIGHT * min(1.0, voice_conf / 0.6) * voice_score
        score = 1.0 - (1.0 - text_score) * (1.0 - voice_part)
        confidence = 1.0 - (1.0 - text_conf) * (1.0 - voice_conf * voice_score)
        confidence = max(confidence, text_conf, min(voice_conf, 0.7))
        return Distress(round(min(1.0, max(0.0, score)), 3), round(confidence, 3), signals,
                        tuple(reasons), feats)


def _voice_reason(deltas: dict[str, float], relative: bool) -> str:
    parts = [f"pitch {deltas['pitch_st']:+.1f} st", f"loudness {deltas['loudness_db']:+.1f} dB",
             f"rate ×{deltas['rate_ratio']:.2f}"]
    return ("voice vs earlier turns: " if relative else "voice: ") + ", ".join(parts)
