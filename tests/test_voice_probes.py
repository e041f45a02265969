"""Voice probes on synthetic sound: delivery level over a bed, and voice identity against the shot.

The clips are built in memory (harmonic "voiced" lines, noise "whispers", a noise bed) and the line
alignment / line embeddings are given, so the tests check the probes' own arithmetic: fast, offline,
deterministic. Scene: `mini` kitchen-quarrel (mara normal, tom normal, mara whisper, tom shout;
shots: mara+tom for lines 0-1, mara alone for line 2, tom alone for line 3).
"""

from __future__ import annotations

import numpy as np
import pytest

from diagnosers.media import SAMPLE_RATE, ClipMedia
from diagnosers.probes.align import LineSpan
from diagnosers.probes.voice import (
    NO_OTHER_VISIBLE,
    delivery,
    delivery_mode_scores,
    line_speech_levels,
    voices,
)
from scenes import load_suite
from scenes.timing import Span

SPANS = [(0.5, 1.7), (2.2, 3.4), (3.9, 5.1), (5.6, 6.8)]
DURATION = 7.5
LEVEL = {"normal": -20.0, "shout": -12.0, "whisper": -35.0}


def _rms_to(x: np.ndarray, dbfs: float) -> np.ndarray:
    return x * (10 ** (dbfs / 20) / (np.sqrt(np.mean(x**2)) + 1e-12))


def _line(kind: str, seconds: float, rng: np.random.Generator, f0: float = 140.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    if kind == "whisper":
        x = rng.standard_normal(len(t))
        x = np.diff(x, prepend=0.0)  # breathy noise, tilted up
    else:
        x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 15))
    x = x * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t) ** 2)  # syllable rhythm
    return _rms_to(x, LEVEL[kind])


def _media(deliveries: list[str], f0s: tuple[float, ...] = (140.0,) * 4, speech: tuple[float, ...] = (0.9,) * 4) -> ClipMedia:
    rng = np.random.default_rng(7)
    n = int(DURATION * SAMPLE_RATE)
    audio = _rms_to(rng.standard_normal(n), -38.0)  # the bed
    for (a, b), kind, f0 in zip(SPANS, deliveries, f0s):
        i = int(a * SAMPLE_RATE)
        piece = _line(kind, b - a, rng, f0)
        audio[i: i + len(piece)] += piece
    frames = np.zeros((int(DURATION * 5), 18, 32, 3), np.uint8)
    media = ClipMedia.from_arrays(frames, audio.astype(np.float32), load_suite("mini").scene("kitchen-quarrel"), fps=5.0)
    media.feature("line_alignment", lambda m: [LineSpan(i, Span(a, b), p) for i, ((a, b), p) in enumerate(zip(SPANS, speech))])
    return media


def test_delivery_as_scripted_reads_near_zero():
    scores = delivery_mode_scores(_media(["normal", "normal", "whisper", "shout"]))
    assert set(scores) == {0, 1, 2, 3}
    assert max(scores.values()) < 0.5


def test_a_whisper_where_normal_speech_is_scripted_stands_out():
    media = _media(["whisper", "normal", "whisper", "shout"])
    levels = line_speech_levels(media)
    assert levels[0][0] < levels[1][0] - 10  # the bed is subtracted: the whisper reads far under the normal line
    scores = delivery_mode_scores(media)
    assert scores[0] > 0.7
    assert max(scores, key=scores.get) == 0
    mode = next(s for s in delivery.measure(media) if s.mode == "dp.speech_mode_confusion")
    assert mode.score == pytest.approx(scores[0])
    assert mode.windows[0][:2] == SPANS[0]


def test_a_shout_where_a_whisper_is_scripted_stands_out():
    scores = delivery_mode_scores(_media(["normal", "normal", "shout", "shout"]))
    assert scores[2] > 0.7
    assert max(scores, key=scores.get) == 2


def test_a_silent_slot_does_not_read_as_a_whisper():
    # line 0 is scripted normal but nothing is said in its slot (a dropped line): the aligner keeps
    # the slot with little speech in it; it must not read like the whisper of a confused delivery
    media = _media(["whisper", "normal", "whisper", "shout"])
    heard = delivery_mode_scores(media)[0]
    media = _media(["whisper", "normal", "whisper", "shout"], speech=(0.1, 0.9, 0.9, 0.9))
    silent = delivery_mode_scores(media)[0]
    assert silent < heard - 0.5


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def test_a_line_voiced_by_the_other_visible_character_scores_highest():
    media = _media(["normal", "normal", "whisper", "shout"])
    rng = np.random.default_rng(3)
    mara, tom = _unit(rng.standard_normal(256)), _unit(rng.standard_normal(256))
    # line 1 is tom's, but sounds like mara (who is in the same shot)
    media.feature("line_embeddings", lambda m: {0: mara, 1: mara, 2: mara, 3: tom})
    identity = next(s for s in voices.measure(media) if s.mode == "dp.speaker_identity_error")
    assert max(identity.lines, key=identity.lines.get) == 1
    assert identity.lines[1] > 0.5
    assert identity.lines[3] == NO_OTHER_VISIBLE  # tom is alone in his shot: no other mouth to carry the line
    assert identity.score == identity.lines[1]



def test_a_line_carried_by_the_other_visible_mouth_gains_mouth_evidence():
    from diagnosers.probes.faces import Face, Track
    from diagnosers.probes.voice import MOUTH_WEIGHT, mouth_evidence

    def track(x: float, moving_during: tuple[float, float]) -> Track:
        times = np.arange(0.0, DURATION, 0.32)
        a, b = moving_during
        return Track([Face(float(t), x, 60.0, 20.0, mouth=(0.1 + 0.3 * (k % 2) if a <= t <= b else 0.1))
                      for k, t in enumerate(times)])

    def build(tom_mouth_moves: bool) -> ClipMedia:
        media = _media(["normal", "normal", "whisper", "shout"])
        rng = np.random.default_rng(3)
        mara, tom = _unit(rng.standard_normal(256)), _unit(rng.standard_normal(256))
        media.feature("line_embeddings", lambda m: {0: mara, 1: tom, 2: mara, 3: tom})
        # mara stands left, tom right (stage order); during line 1 (tom's) one of the mouths moves
        mara_moves, tom_moves = SPANS[0], SPANS[1] if tom_mouth_moves else SPANS[0]
        if not tom_mouth_moves:
            mara_moves = (SPANS[0][0], SPANS[1][1])
        media.feature("faces:tracks", lambda m: [track(80.0, mara_moves), track(240.0, tom_moves)])
        media.feature("faces:windows", lambda m: {i: sp for i, sp in enumerate(SPANS)})
        return media

    right = build(tom_mouth_moves=True)
    wrong = build(tom_mouth_moves=False)
    assert mouth_evidence(right)[1] < 0 < mouth_evidence(wrong)[1]
    assert 2 not in mouth_evidence(wrong)  # mara alone in her shot: nothing to compare
    lines = {k: next(s for s in voices.measure(m) if s.mode == "dp.speaker_identity_error").lines for k, m in (("r", right), ("w", wrong))}
    assert lines["w"][1] - lines["r"][1] == pytest.approx(MOUTH_WEIGHT * (mouth_evidence(wrong)[1] - mouth_evidence(right)[1]))
