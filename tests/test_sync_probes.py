"""The `lipsync` probe on small synthetic clips (frames and sound in memory, no rendering, no models).

A "mouth" is a dark patch on a skin-coloured face whose opening follows the loudness of a syllable
train (band-limited noise switched on and off at a speech-like rate); a lip-sync fault shifts it.
"""

from __future__ import annotations

import numpy as np
import pytest

from diagnosers.media import ClipMedia
from diagnosers.probes import measure_all
from diagnosers.probes.align import LineSpan
from diagnosers.probes.features import Span
from scenes import load_suite

FPS = 12.5
H, W = 180, 320
SR = 16000


@pytest.fixture(scope="module")
def scene():
    return load_suite("mini").scene("kitchen-quarrel")


def _syllables(seconds: float, seed: int = 0) -> np.ndarray:
    """Loudness 0..1 at 16 kHz: syllables of 0.1-0.3 s separated by short gaps, from 0.5 s on."""
    rng = np.random.default_rng(seed)
    env = np.zeros(int(seconds * SR), np.float32)
    t = 0.5
    while t < seconds - 0.5:
        length = rng.uniform(0.1, 0.3)
        a, b = int(t * SR), int((t + length) * SR)
        env[a:b] = rng.uniform(0.4, 1.0) * np.hanning(b - a)
        t += length + rng.uniform(0.05, 0.25)
    return env


def _audio(env: np.ndarray, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.3 * env * rng.normal(0, 1, len(env))).astype(np.float32)


def _opening(env: np.ndarray, times: np.ndarray, offset: float) -> np.ndarray:
    """Mouth opening at each frame: the loudness `offset` seconds earlier (positive: the mouth lags)."""
    idx = np.clip(((times - offset) * SR).astype(int), 0, len(env) - 1)
    return env[idx]


def _face_frames(openings: list[np.ndarray]) -> np.ndarray:
    """One face per opening track, side by side, on a plain backdrop; each mouth a dark patch."""
    n = len(openings[0])
    frames = np.full((n, H, W, 3), 70, np.uint8)
    frames[:, H // 2:] = 50
    xs = np.linspace(0, W, len(openings) + 2)[1:-1].astype(int)
    for x, op in zip(xs, openings):
        frames[:, 40:110, x - 25: x + 25] = (205, 160, 130)  # skin
        frames[:, 60:66, x - 14: x - 6] = 20  # eyes
        frames[:, 60:66, x + 6: x + 14] = 20
        for k in range(n):
            h = round(14 * float(op[k]))
            frames[k, 88 - h // 2: 90 + h // 2 + 1, x - 10: x + 10] = 40  # the mouth: a line, opening with the voice
    return frames


def _media(frames: np.ndarray, audio: np.ndarray, scene, spans=None, speech: float = 0.0) -> ClipMedia:
    media = ClipMedia.from_arrays(frames, audio, scene, fps=FPS)
    if spans is not None:  # line placement is the aligner's job (tested elsewhere); give it here
        aligned = [LineSpan(i, Span(*spans[i]) if i in spans else None, speech) for i in range(len(scene.lines))]
        media.feature("line_alignment", lambda m: aligned)
    return media


def _lipsync(offset: float, scene, seed: int = 0):
    seconds = 10.0
    env = _syllables(seconds, seed)
    times = np.arange(int(seconds * FPS)) / FPS
    frames = _face_frames([_opening(env, times, offset)])
    return measure_all(_media(frames, _audio(env), scene), {"sf.lip_sync_offset"})["sf.lip_sync_offset"]


@pytest.mark.parametrize("offset", [-0.32, 0.24, 0.4])
def test_lip_sync_lag_is_the_offset_of_the_mouth(scene, offset):
    shifted = _lipsync(offset, scene)
    assert abs(shifted.detail["lag_s"] - offset) < 0.06, shifted.detail
    in_sync = _lipsync(0.0, scene)
    assert abs(in_sync.detail["lag_s"]) < 0.04, in_sync.detail
    assert in_sync.score < 0.05 < shifted.score


def test_lip_sync_reads_the_clearly_heard_lines(scene):
    """With line spans whose speech is clearly heard, the lag is also read over those lines alone,
    and a mouth that lags there is found; the score takes the weaker of the two readings."""
    seconds = 10.0
    env = _syllables(seconds, 3)
    times = np.arange(int(seconds * FPS)) / FPS
    spans = {0: (0.8, 4.6), 1: (5.2, 9.2)}
    out = {}
    for offset in (0.0, 0.32):
        frames = _face_frames([_opening(env, times, offset)])
        media = _media(frames, _audio(env), scene, spans, speech=0.95)
        out[offset] = measure_all(media, {"sf.lip_sync_offset"})["sf.lip_sync_offset"]
    shifted, in_sync = out[0.32], out[0.0]
    assert shifted.detail["lines"] >= 1
    assert abs(shifted.detail["lag_s"] - 0.32) < 0.06, shifted.detail
    assert shifted.score == min(shifted.detail["score_lines"], shifted.detail["score_stretches"])
    assert in_sync.score < 0.05 < shifted.score


def test_lip_sync_is_not_measured_without_sound(scene):
    frames = _face_frames([np.zeros(100)])
    media = _media(frames, np.zeros(8 * SR, np.float32), scene)
    assert measure_all(media, {"sf.lip_sync_offset"})["sf.lip_sync_offset"].score is None
