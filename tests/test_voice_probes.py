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
    else:  # a voice: harmonics of a pitch that glides a semitone either way (a held pitch reads as a tone)
        phase = 2 * np.pi * np.cumsum(f0 * 2 ** (np.sin(2 * np.pi * 1.5 * t) / 12)) / SAMPLE_RATE
        x = sum(np.sin(k * phase) / k for k in range(1, 15))
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


# prosody (decision 120): harmonic lines whose pitch glides around a chosen level, spans as long as
# the duration model predicts, so the script model's predictions can be played back and measured.

def _glide_line(level_st: float, spread_st: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    st = level_st + spread_st * np.sqrt(2) * np.sin(2 * np.pi * 1.5 * t)  # std of a sine = amplitude / sqrt(2)
    phase = 2 * np.pi * np.cumsum(100.0 * 2 ** (st / 12)) / SAMPLE_RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 12)) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t) ** 2)
    return _rms_to(x, LEVEL["normal"])


def _prosody_media(lines: dict[int, tuple[float, float, float]], tone: tuple[int, float] | None = None) -> ClipMedia:
    """Lines 0-3 of kitchen-quarrel: line i -> (pitch, spread, seconds), or a whisper when left out;
    `tone` = (line, Hz): a steady tone over the second half of that line."""
    from diagnosers.probes.prosody import log_seconds

    scene = load_suite("mini").scene("kitchen-quarrel")
    rng = np.random.default_rng(11)
    spans, t = [], 0.5
    for i, line in enumerate(scene.lines):
        seconds = lines[i][2] if i in lines else float(np.exp(log_seconds(line, scene.character(line.speaker).voice)))
        spans.append((round(t, 3), round(t + seconds, 3)))
        t += seconds + 0.5
    audio = _rms_to(rng.standard_normal(int((t + 0.5) * SAMPLE_RATE)), -45.0)
    for i, (a, b) in enumerate(spans):
        piece = _glide_line(*lines[i]) if i in lines else _line("whisper", b - a, rng)
        audio[int(a * SAMPLE_RATE): int(a * SAMPLE_RATE) + len(piece)] += piece
    if tone is not None:
        a, b = spans[tone[0]]
        n0, n1 = int((a + b) / 2 * SAMPLE_RATE), int(b * SAMPLE_RATE)
        audio[n0:n1] += _rms_to(np.sin(2 * np.pi * tone[1] * np.arange(n1 - n0) / SAMPLE_RATE), -14.0)
    frames = np.zeros((int(t * 5) + 1, 18, 32, 3), np.uint8)
    media = ClipMedia.from_arrays(frames, audio.astype(np.float32), scene, fps=5.0)
    media.feature("line_alignment", lambda m: [LineSpan(i, Span(a, b), 0.95) for i, (a, b) in enumerate(spans)])
    return media


def _as_scripted(i: int, emotion=None, voice_of: str | None = None, stretch: float = 1.0) -> tuple[float, float, float]:
    """(pitch, spread, seconds) the script model predicts for line i (optionally another emotion or voice)."""
    from diagnosers.probes.prosody import expected_pitch, expected_spread, log_seconds

    scene = load_suite("mini").scene("kitchen-quarrel")
    line = scene.lines[i]
    line = line.model_copy(update={"emotion": emotion}) if emotion is not None else line
    voice = scene.character(voice_of or line.speaker).voice
    return (expected_pitch(voice, line.emotion, line.delivery), expected_spread(voice, line.emotion, line.delivery),
            stretch * float(np.exp(log_seconds(line, voice))))


def test_line_pitch_reads_the_voice_and_leaves_a_ringing_tone_out():
    from diagnosers.probes.prosody import line_prosody

    lines = {0: (19.0, 1.5, 1.4), 1: (1.0, 1.0, 2.2), 3: (5.5, 1.5, 1.5)}
    for tone in (None, (1, 450.0)):
        prosody = line_prosody(_prosody_media(lines, tone))
        for i, (level, _, _) in lines.items():
            assert prosody[i].pitch == pytest.approx(level, abs=0.5)  # under the tone half the glide is lost
            assert prosody[i].voiced > 0.3
        assert prosody[2].pitch is None and prosody[2].voiced < 0.05  # the whisper has no voice pitch


def test_a_flat_line_reads_flatter_than_the_same_line_said_with_its_emotion():
    from diagnosers.probes.prosody import flat_scores
    from scenes import Emotion

    others = {1: _as_scripted(1), 3: _as_scripted(3)}
    scripted = flat_scores(_prosody_media({0: _as_scripted(0), **others}))
    flat = flat_scores(_prosody_media({0: _as_scripted(0, emotion=Emotion.neutral), **others}))
    assert scripted[0] < 0 < 2 < flat[0]  # the angry line said neutral: lower, narrower, slower
    assert scripted[1] < 0 and flat[1] < 0  # tom's line as scripted either way


def test_a_voice_that_changes_from_a_line_on_is_found():
    from diagnosers.probes.prosody import voice_change

    same = voice_change(_prosody_media({0: _as_scripted(0), 1: _as_scripted(1), 3: _as_scripted(3)}))
    level, spread, seconds = _as_scripted(3)
    changed = voice_change(_prosody_media({0: _as_scripted(0), 1: _as_scripted(1), 3: (level + 12, spread, seconds)}))
    assert same[0] < 9
    assert changed[0] > 50 and changed[1:] == ("tom", 3)


def test_a_line_said_in_the_other_visible_characters_voice_reads_as_theirs():
    from diagnosers.probes.prosody import other_voice_evidence

    base = {0: _as_scripted(0), 3: _as_scripted(3)}
    own = other_voice_evidence(_prosody_media({**base, 1: _as_scripted(1)}), 1, "mara")
    theirs = other_voice_evidence(_prosody_media({**base, 1: _as_scripted(1, voice_of="mara")}), 1, "mara")
    assert own < 0 < 2 < theirs


# level (decision 190): a line's level against the clip's other lines of the same delivery


def _levelled_media(flat_line: int | None) -> ClipMedia:
    """kitchen-quarrel with every line spoken normally; line levels given as the emotions ask
    (LEVEL_SLOPE dB per unit of arousal over 30 dB), `flat_line` at the neutral emotion's level."""
    from diagnosers.probes.line_level import LEVEL_SLOPE
    from scenes import EMOTION_AFFECT, Delivery, Emotion

    scene = load_suite("mini").scene("kitchen-quarrel")
    scene = scene.model_copy(update={"lines": [ln.model_copy(update={"delivery": Delivery.normal}) for ln in scene.lines]})
    media = ClipMedia.from_arrays(np.zeros((10, 18, 32, 3), np.uint8), np.zeros(SAMPLE_RATE * 2, np.float32), scene, fps=5.0)
    levels = {i: 30.0 + LEVEL_SLOPE * EMOTION_AFFECT[(Emotion.neutral if i == flat_line else ln.emotion)][1]
              for i, ln in enumerate(scene.lines)}
    media.feature("voice:line_levels", lambda m: levels)
    return media


def test_a_line_quieter_than_its_emotion_asks_reads_flat():
    from diagnosers.probes.line_level import flat_level_evidence, level_residuals

    scripted, flat = _levelled_media(None), _levelled_media(0)
    assert all(abs(r) < 1e-9 for r in level_residuals(scripted).values())
    assert flat_level_evidence(scripted, 0) < 0 < 2 < flat_level_evidence(flat, 0)  # angry said neutral: ~2.3 dB quieter
    assert flat_level_evidence(flat, 1) < 0  # the reference is the median: one flat line does not move the others


def test_a_shouted_line_never_reads_flat():
    from diagnosers.probes.prosody import flat_scores
    from scenes import Emotion

    others = {1: _as_scripted(1), 3: _as_scripted(3, emotion=Emotion.neutral)}
    assert flat_scores(_prosody_media({0: _as_scripted(0), **others}))[3] <= 0.0  # tom's shout, said neutral


def test_a_pitch_from_few_voice_frames_is_weaker_evidence_of_flatness():
    """Decision 207: the same pitch, two thirds of the way from the angry line's prediction to the neutral
    one, reads as less evidence when it is the mean of 12 voice frames than of 60."""
    from diagnosers.probes.prosody import PITCH_SD, LineProsody, expected_pitch, flat_evidence, line_pitch_sd
    from scenes import Emotion

    scene = load_suite("mini").scene("kitchen-quarrel")
    line = scene.lines[0]
    voice = scene.character(line.speaker).voice
    toward_neutral = (expected_pitch(voice, line.emotion, line.delivery) + 2 * expected_pitch(voice, Emotion.neutral, line.delivery)) / 3

    def evidence(frames: int) -> float:
        media = ClipMedia.from_arrays(np.zeros((10, 18, 32, 3), np.uint8), np.zeros(SAMPLE_RATE * 2, np.float32), scene, fps=5.0)
        media.feature("voice:line_prosody", lambda m: {0: LineProsody(toward_neutral, 1.0, 0.5, 0.0, frames)})
        media.feature("voice:level_residuals", lambda m: {})
        return flat_evidence(media, 0)["pitch"]

    assert line_pitch_sd(60) == PITCH_SD and line_pitch_sd(10) == pytest.approx(2 * PITCH_SD)
    assert 0.5 < evidence(12) < evidence(60) - 0.5
