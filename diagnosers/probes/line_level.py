"""A line's level against the clip's other lines, as evidence that it was said neutral (decision 190).

An aroused emotion is said louder: the fitting clips' lines rise LEVEL_SLOPE dB per unit of the
emotion's arousal (`scenes.EMOTION_AFFECT`) over the clip's other lines of the same delivery, so a
line said neutral instead sits LEVEL_SLOPE x (arousal - neutral's arousal) dB under its reference.
The clip's own lines are the reference: the mix's overall gain drops out, and the level needs no
voice pitch (it still reads a line under loud music).
"""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.align import align_lines
from diagnosers.probes.features import HOP_S, spectral_frames
from scenes import EMOTION_AFFECT, Emotion

SPEECH_BAND_HZ = (200.0, 4000.0)  # the band voices are measured in, here and in `prosody`
# Level (decision 190): a line's 200-4000 Hz power over its span (dB) less LEVEL_SLOPE x its emotion's
# arousal, against the median of the same over the clip's other lines of the same delivery. Fitting
# clips (sparse seeds 0-5, clean 3000-3001; normal lines without a fault, no drowned clip, 852 lines):
# level rises 3.9 dB per unit of arousal (least squares); the residual's robust sd is 0.31 dB but its
# tails are wide (a line next to an overlap or a loud cue, a drowned clip): fitting BA of the whole
# flat score for LEVEL_SD 0.45 / 0.6 / 0.8: 0.821 / 0.831 / 0.832 (0.3: lower); 0.6, the smaller of the tie.
LEVEL_SLOPE, LEVEL_SD, LEVEL_OUTLIER_WIDTH = 3.9, 0.6, 10.0
MIN_LEVEL_REFERENCES = 2  # other lines of the same delivery a clip needs for a line's level reference


def _arousal(emotion: Emotion) -> float:
    return EMOTION_AFFECT.get(emotion, (0.0, 0.3))[1]


def speech_band_power(media: ClipMedia) -> np.ndarray:
    """Per 20 ms spectral frame: the 200-4000 Hz power (shared by the line levels and `prosody`'s pitch gate)."""

    def compute(m: ClipMedia) -> np.ndarray:
        spec, freqs = spectral_frames(m)
        band = (freqs >= SPEECH_BAND_HZ[0]) & (freqs < SPEECH_BAND_HZ[1])
        return (spec[:, band].astype(np.float64) ** 2).sum(axis=1)

    return media.feature("voice:speech_band_power", compute)


def line_levels(media: ClipMedia) -> dict[int, float]:
    """Per found line: mean 200-4000 Hz power over its span, dB (arbitrary reference)."""

    def compute(m: ClipMedia) -> dict[int, float]:
        power = speech_band_power(m)
        out = {}
        for ls in align_lines(m):
            if ls.span is not None:
                frames = power[int(ls.span.start / HOP_S): int(ls.span.end / HOP_S)]
                if len(frames):
                    out[ls.index] = float(10 * np.log10(frames.mean() + 1e-12))
        return out

    return media.feature("voice:line_levels", compute)


def level_residuals(media: ClipMedia) -> dict[int, float]:
    """Per found line: its level less what its emotion's arousal adds (LEVEL_SLOPE dB per unit), minus
    the median of the same over the clip's other lines of the same delivery (lines with fewer than
    MIN_LEVEL_REFERENCES such lines get none). The clip's own lines are the reference, so the mix's
    overall gain and the voice's distance drop out."""

    def compute(m: ClipMedia) -> dict[int, float]:
        scene = m.scene
        bare = {i: lv - LEVEL_SLOPE * _arousal(scene.lines[i].emotion)
                for i, lv in line_levels(m).items()}
        out = {}
        for i, b in bare.items():
            others = [c for j, c in bare.items() if j != i and scene.lines[j].delivery is scene.lines[i].delivery]
            if len(others) >= MIN_LEVEL_REFERENCES:
                out[i] = b - float(np.median(others))
        return out

    return media.feature("voice:level_residuals", compute)


def flat_level_evidence(media: ClipMedia, i: int) -> float | None:
    """log p(level | line i said neutral) - log p(level | said with its scripted emotion): Gaussians
    of LEVEL_SD around the two predictions (neutral: LEVEL_SLOPE x (neutral's arousal - the
    emotion's) dB off the reference) mixed with a flat outlier share; None without a reference."""
    from diagnosers.probes.prosody import llr

    level = level_residuals(media).get(i)
    if level is None:
        return None
    shift = LEVEL_SLOPE * (_arousal(Emotion.neutral) - _arousal(media.scene.lines[i].emotion))
    return llr(level, shift, 0.0, LEVEL_SD, LEVEL_OUTLIER_WIDTH)
