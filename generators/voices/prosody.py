"""How emotion and delivery change a voice: one plan shared by every backend.

The plan is derived from the affect table (`scenes.EMOTION_AFFECT`: valence, arousal) so that any
emotion in the vocabulary gets a consistent treatment, and probes can predict what to measure:

- arousal raises pitch (`pitch_shift`, espeak -p units, 50 = default) and widens the pitch range
  (`pitch_range`, SSML `<prosody range>`), and speeds speech up (`rate_factor`);
- low arousal with negative valence (sad, melancholic, guilty) is slower and lower;
- delivery sets the target level (`level_dbfs`, RMS of the trimmed line in dBFS):
  normal/voice_over -20, shout -12 (+ saturation), whisper -35 (breathy, unvoiced); arousal
  shifts it by (arousal - 0.4) * 4 dB, so at most +2.4 dB (furious) and -1.2 dB (calm);
- ElevenLabs gets the same plan as `stability` (low for high arousal) and `style` (high for arousal).
"""

from __future__ import annotations

from dataclasses import dataclass

from scenes import EMOTION_AFFECT, Delivery, Emotion

# RMS level of a trimmed line per delivery, dBFS. Whisper sits ~15 dB under normal speech.
LEVEL_DBFS: dict[Delivery, float] = {
    Delivery.normal: -20.0,
    Delivery.voice_over: -20.0,
    Delivery.shout: -12.0,
    Delivery.whisper: -35.0,
}


@dataclass(frozen=True)
class ProsodyPlan:
    pitch_shift: int  # added to espeak -p (0..99 scale)
    pitch_range: str  # SSML prosody range: x-low, low, medium, high, x-high
    rate_factor: float  # multiplies the character's speaking rate
    amplitude: int  # espeak -a (0..200); the level is normalised afterwards, this shapes the source
    level_dbfs: float  # final RMS level of the line
    saturation: float  # tanh drive applied after levelling (0 = none)
    breathy: bool  # whisper: replace voicing with shaped noise
    stability: float  # ElevenLabs voice_settings.stability (0..1)
    style: float  # ElevenLabs voice_settings.style (0..1)


def _range_for(arousal: float) -> str:
    if arousal >= 0.8:
        return "x-high"
    if arousal >= 0.6:
        return "high"
    if arousal <= 0.2:
        return "x-low"
    if arousal <= 0.35:
        return "low"
    return "medium"


def prosody_plan(emotion: Emotion, delivery: Delivery) -> ProsodyPlan:
    """Prosody for a line from its emotion's (valence, arousal) and its delivery."""
    valence, arousal = EMOTION_AFFECT.get(emotion, (0.0, 0.3))
    pitch = round((arousal - 0.35) * 24)
    rate = 0.85 + 0.35 * arousal
    if valence < -0.3 and arousal < 0.4:
        # sadness: slower, lower, flatter
        rate *= 0.9
        pitch -= 4
    level = LEVEL_DBFS[delivery] + (arousal - 0.4) * 4.0
    plan = dict(
        pitch_shift=pitch,
        pitch_range=_range_for(arousal),
        rate_factor=rate,
        amplitude=int(80 + 40 * arousal),
        level_dbfs=level,
        saturation=0.0,
        breathy=False,
        stability=round(max(0.15, 0.8 - 0.6 * arousal), 2),
        style=round(min(1.0, 0.1 + 0.7 * arousal), 2),
    )
    if delivery is Delivery.shout:
        plan.update(pitch_shift=pitch + 14, pitch_range="x-high", rate_factor=rate * 1.08, amplitude=200,
                    saturation=1.6, stability=0.2, style=min(1.0, plan["style"] + 0.3))
    elif delivery is Delivery.whisper:
        plan.update(pitch_shift=pitch - 4, pitch_range="low", rate_factor=rate * 0.92, amplitude=70,
                    breathy=True, stability=0.75, style=0.05)
    return ProsodyPlan(**plan)
