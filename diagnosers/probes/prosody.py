"""Prosody per line against the script (decision 120): the voice's pitch, pitch spread and speaking
time, each compared with what the script predicts for the line from its speaker's scripted voice
(gender, pitch offset, rate), its emotion and its delivery.

The predictions are small linear models fitted on the fitting clips' clean lines (constants below);
the scores are log-likelihood ratios between two readings of a line (e.g. "spoken with its emotion"
vs "spoken neutral"), each feature a Gaussian around its prediction mixed with a flat outlier share
(a misplaced span or a pitch track caught by the music reads as an outlier, not as strong evidence).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from diagnosers.media import SAMPLE_RATE, ClipMedia
from diagnosers.probes.base import load_model
from diagnosers.probes.align import align_lines
from diagnosers.probes.features import HOP, HOP_S, frame_autocorrelation, spectral_frames
from diagnosers.probes.line_level import flat_level_evidence, speech_band_power
from diagnosers.probes.speech_model import MODEL, line_duration_features
from scenes import EMOTION_AFFECT, Delivery, Emotion

PITCH_WINDOW = 640  # 40 ms analysis frames every 20 ms (two periods of a 55 Hz voice)
PITCH_FFT = 1024  # autocorrelation by FFT: window + the longest lag (291 samples) fit without wrapping
F0_RANGE_HZ = (55.0, 500.0)  # a swapped low male voice reaches ~65 Hz, a shouting high female one ~420 Hz
VOICED_PEAK = 0.45  # autocorrelation peak over frame energy for a voiced frame (the shared pitch_track's)
CLEAR_OF_BED = 4.0  # a frame counts when its 200-4000 Hz power is 4x (6 dB) the background's loud moments
MIN_VOICED = 10  # clear voiced frames (0.2 s) for a line's pitch
CLUSTER_GAP = 2.0  # semitones between sorted frame pitches that separate two sounds (a voice's frames are
# continuous; a ring or held tone sits apart)
MISPLACED = 0.4  # |log(span / expected length)| beyond which a span is taken as misplaced (fitting clips:
# 4 % of aligned lines, most of them next to a dead-air or cut-off turn)
STEADY_SD = 0.2  # semitones: a voice's frames spread more (fitting clips, clean lines: 0.27 at the least,
# 0.45 at the 2nd percentile); a whistle or ring under a whispered line holds one pitch (0-0.12)

# Script model of a line's pitch (semitones re 100 Hz) and pitch spread (std of the voice frames,
# semitones): least squares over the fitting clips' clean lines (sparse seeds 0-5 and clean
# 3000-3001; normal and shouted lines with a pitch, no voice or timing fault, no background_drowning
# clip: 1246 lines). Terms: intercept, female voice, the voice's scripted pitch offset (per step),
# the emotion's arousal, a low-arousal negative emotion (sad), shouted.
PITCH_TERMS = (-2.888, 11.595, 0.631, 8.87, -1.211, 3.431)
SPREAD_TERMS = (0.442, 0.486, -0.025, 2.092, -0.418, -0.236)
# Spreads about those predictions on the same lines (robust sd: 1.4826 x median absolute residual):
# a line's pitch 0.81 semitones, its spread 0.42; log speaking time about the duration model 0.064
# (aligned spans, 1538 lines). The aligner's length prior pulls a span toward the predicted length:
# aligned log time = 0.80 x the true one (slope on the same lines), so a change of speaking rate is
# expected at TIME_SHRINK of its size. A speaker's own level about the script model: none
# measurable (the per-speaker means spread as much as their lines' noise gives); SPEAKER_SD 0.26 (the
# estimate before tonal frames were separated from the voice's) lets a voice that the script
# describes less exactly find its level from its other lines.
PITCH_SD, SPEAKER_SD, SPREAD_SD, TIME_SD = 0.81, 0.26, 0.42, 0.064
# A line's pitch is the mean of its voice frames, so a line with few of them reads it less exactly: on the
# same clean lines (non-drowned) the robust sd is 1.17 semitones at 10-30 voice frames, 0.83 at 30-40 and
# 0.55-0.59 beyond. The flatness reads a line's pitch with sd PITCH_SD x sqrt(PITCH_FRAMES / frames), never
# under PITCH_SD (decision 207: fitting BA 0.833 -> 0.835, clean-clip false alarms fewer; 30 and 50 frames
# read lower on the fitting clips).
PITCH_FRAMES = 40
TIME_SHRINK = 0.8
# Outliers: share and width of the flat part of every feature's density (pitch tracks caught by the
# music or another voice, misplaced spans: 4-7 % of the clean lines above lie beyond 3 sd, more on
# lines with faults).
OUTLIER_SHARE = 0.1
OUTLIER_WIDTH = {"pitch": 30.0, "spread": 5.0, "time": 1.5}
SPOKEN_PLAIN = (Delivery.normal, Delivery.voice_over)  # deliveries whose prosody the emotion sets
UNKNOWN_VOICE_WIDTH = 24.0  # semitones over which a voice the script does not describe may lie (the
# scripted voices of the fitting clips span -8..+22 semitones re 100 Hz)


@dataclass(frozen=True)
class LineProsody:
    pitch: float | None  # mean F0 of the voice's clear frames (`voice_frames`), semitones re 100 Hz (None: under
    # MIN_VOICED frames, or a span shared with the previous line or misplaced)
    spread: float | None  # standard deviation of those frames, semitones
    voiced: float  # share of the span's frames that are voiced and clear of the background
    log_time: float  # log(span seconds / the duration model's prediction for the line as scripted)
    frames: int = 0  # the voice frames the pitch is the mean of


def _outside_lines(media: ClipMedia) -> np.ndarray:
    """Spectrogram frames away from every aligned line (±0.1 s); the quietest fifth of the frames
    when lines cover nearly everything."""
    spec, _ = spectral_frames(media)
    outside = np.ones(len(spec), bool)
    for ls in align_lines(media):
        if ls.span is not None:
            outside[max(0, int(ls.span.start / HOP_S) - 5): int(ls.span.end / HOP_S) + 5] = False
    if outside.sum() < 20:
        outside[:] = False
        outside[np.argsort((spec.astype(np.float64) ** 2).sum(axis=1))[: max(1, len(spec) // 5)]] = True
    return outside


def background_power(media: ClipMedia) -> np.ndarray:
    """Power per frequency bin of the background (music, ambience): the median over the frames
    away from the lines (decision 089)."""

    def compute(m: ClipMedia) -> np.ndarray:
        spec, _ = spectral_frames(m)
        return np.median(spec[_outside_lines(m)].astype(np.float64) ** 2, axis=0)

    return media.feature("voice:background_power", compute)


def background_peak(media: ClipMedia) -> float:
    """The background's loud moments: 90th percentile of its 200-4000 Hz power over the frames away
    from the lines (a voice frame must stand clear of these, not of the median)."""

    def compute(m: ClipMedia) -> float:
        return float(np.percentile(speech_band_power(m)[_outside_lines(m)], 90))

    return media.feature("voice:background_peak", compute)


def clip_pitch(media: ClipMedia) -> np.ndarray:
    """F0 in semitones re 100 Hz per 20 ms frame of the aligned lines where a voiced sound stands
    clear of the background (NaN elsewhere).

    Only frames whose 200-4000 Hz power is CLEAR_OF_BED times the background's loud moments are
    tracked, which drops the frames where the music's held tones set the pitch (fitting clips, with
    `voice_frames`: a line's pitch within 1 semitone of the clean voice stem's for 81 % of lines,
    74 % for the ungated median; decision 120). Autocorrelation of each demeaned 40 ms frame (all
    frames in one FFT), peak between 55 and 500 Hz reaching VOICED_PEAK of the frame's energy,
    refined by a parabola.
    """

    def compute(m: ClipMedia) -> np.ndarray:
        a = m.audio.astype(np.float32)
        n = max(0, (len(a) - PITCH_WINDOW) // HOP + 1)
        out = np.full(n, np.nan)
        level = speech_band_power(m)
        # only frames inside a line and clear of the background's loud moments are tracked
        wanted = np.zeros(n, bool)
        for ls in align_lines(m):
            if ls.span is not None:
                wanted[int(ls.span.start / HOP_S): int(ls.span.end / HOP_S) + 1] = True
        nn = min(n, len(level))
        wanted[:nn] &= level[:nn] >= CLEAR_OF_BED * max(background_peak(m), 1e-12)
        wanted[nn:] = False
        rows = np.flatnonzero(wanted)
        if not len(rows):
            return out
        x = np.lib.stride_tricks.sliding_window_view(a, PITCH_WINDOW)[::HOP][rows]
        lo, hi = int(SAMPLE_RATE / F0_RANGE_HZ[1]), int(SAMPLE_RATE / F0_RANGE_HZ[0])
        ac, k, voiced = frame_autocorrelation(x, lo, hi, PITCH_FFT, VOICED_PEAK)
        idx = np.arange(len(rows))
        # parabolic peak: a whole-sample lag is 0.5 semitone at 450 Hz, which would make a held tone wobble
        kk = np.clip(k, 1, ac.shape[1] - 2)
        left, mid, right = ac[idx, kk - 1], ac[idx, kk], ac[idx, kk + 1]
        bend = left - 2 * mid + right
        lag = lo + kk + np.clip(np.where(bend < 0, 0.5 * (left - right) / np.where(bend < 0, bend, -1.0), 0.0), -1, 1)
        out[rows] = np.where(voiced, 12 * np.log2(SAMPLE_RATE / lag / 100.0), np.nan)
        return out

    return media.feature("voice:clip_pitch", compute)


def voice_frames(f0: np.ndarray, expected: float) -> np.ndarray:
    """The frames of a line's pitch track that belong to the voice (semitones, octave errors folded).

    A tonal sound inside the line (a phone's ring, the music's held tone) forms its own cluster of
    frames, far from the voice's: frames are grouped where sorted values leave a gap over
    CLUSTER_GAP semitones; a group that holds one pitch (std under STEADY_SD) is a tone, not a
    voice; of the groups holding at least a quarter of the frames, the one nearest the script's
    expected pitch is the voice (a single group is kept wherever it lies: a changed voice must
    still read as changed). Frames an octave off its median are folded back (tracker
    octave errors); the rest, over 6 semitones away, are dropped.
    """
    if len(f0) < MIN_VOICED:
        return f0
    v = np.sort(f0)
    edges = np.flatnonzero(np.diff(v) > CLUSTER_GAP) + 1
    groups = [g for g in np.split(v, edges) if len(g) >= max(MIN_VOICED // 2, len(v) / 4) and g.std() >= STEADY_SD]
    if not groups:
        return v[:0]
    centre = float(np.median(min(groups, key=lambda g: abs(float(np.median(g)) - expected))))
    folded = v - 12 * np.round((v - centre) / 12) * (np.abs(np.abs(v - centre) - 12) < 3)
    return folded[np.abs(folded - centre) <= 6]


def line_prosody(media: ClipMedia) -> dict[int, LineProsody]:
    """Per found line: pitch, pitch spread, voiced share and log speaking time (see LineProsody)."""

    def compute(m: ClipMedia) -> dict[int, LineProsody]:
        scene = m.scene
        f0 = clip_pitch(m)
        out = {}
        for ls in align_lines(m):
            if ls.span is None:
                continue
            a = int(ls.span.start / HOP_S)
            b = min(len(f0), max(a + 1, int(ls.span.end / HOP_S)))
            frames = f0[a:b]
            line = scene.lines[ls.index]
            voice = scene.character(line.speaker).voice
            v = voice_frames(frames[~np.isnan(frames)], expected_pitch(voice, line.emotion, line.delivery))
            expected = log_seconds(line, voice)
            log_time = math.log(max(ls.span.duration, 0.05)) - expected if expected is not None else 0.0
            pitch = spread = None
            # a span shared with the previous line holds its voice too; one far off its expected length is misplaced
            if len(v) >= MIN_VOICED and not ls.shared and abs(log_time) <= MISPLACED:
                pitch, spread = float(v.mean()), float(v.std())
            out[ls.index] = LineProsody(pitch, spread, len(v) / max(1, b - a), log_time, len(v))
        return out

    return media.feature("voice:line_prosody", compute)


# script predictions ------------------------------------------------------------------------------


def _terms(voice, emotion: Emotion, delivery: Delivery) -> np.ndarray:
    valence, arousal = EMOTION_AFFECT.get(emotion, (0.0, 0.3))
    female = {"female": 1.0, "male": 0.0}.get(voice.gender, 0.5)
    return np.array([1.0, female, float(voice.pitch), arousal, float(valence < -0.3 and arousal < 0.4),
                     float(delivery is Delivery.shout)])


def expected_pitch(voice, emotion: Emotion, delivery: Delivery) -> float:
    """Semitones re 100 Hz the script predicts for a line in this voice, emotion and delivery."""
    return float(np.dot(PITCH_TERMS, _terms(voice, emotion, delivery)))


def expected_spread(voice, emotion: Emotion, delivery: Delivery) -> float:
    """The line's pitch spread (semitones) relative to a neutral line's, as the script predicts it."""
    return float(np.dot(SPREAD_TERMS, _terms(voice, emotion, delivery)))


def log_seconds(line, voice) -> float | None:
    """log seconds the duration model predicts for `line` said in `voice` (None without the model)."""
    durations = (load_model(str(MODEL)) or {}).get("durations")
    if not durations:
        return None
    return float(np.dot(durations["coef"], line_duration_features(line, voice)))


def pitch_residuals(media: ClipMedia) -> dict[int, float]:
    """Per line with a pitch: measured minus the script's prediction for its scripted speaker."""

    def compute(m: ClipMedia) -> dict[int, float]:
        scene = m.scene
        out = {}
        for i, p in line_prosody(m).items():
            if p.pitch is not None:
                line = scene.lines[i]
                out[i] = p.pitch - expected_pitch(scene.character(line.speaker).voice, line.emotion, line.delivery)
        return out

    return media.feature("voice:pitch_residuals", compute)


def speaker_level(media: ClipMedia, speaker: str, leave_out: int | None = None) -> tuple[float, float]:
    """(offset, sd) of a speaker's pitch level from the script model, from their other lines' residuals
    (each clipped to ±3 PITCH_SD, shrunk toward 0 with the prior SPEAKER_SD); sd is the offset's own."""
    scene = media.scene
    res = [min(3 * PITCH_SD, max(-3 * PITCH_SD, r)) for j, r in pitch_residuals(media).items()
           if j != leave_out and scene.lines[j].speaker == speaker]
    precision = len(res) / PITCH_SD**2 + 1 / SPEAKER_SD**2
    return float(sum(res) / PITCH_SD**2 / precision), math.sqrt(1 / precision)


def line_pitch_sd(frames: int) -> float:
    """Spread of a line's pitch about the script's prediction when it is the mean of `frames` voice frames:
    PITCH_SD, widened as 1 / sqrt(frames) under PITCH_FRAMES (decision 207)."""
    return PITCH_SD * math.sqrt(max(1.0, PITCH_FRAMES / max(1, frames)))


def flat_evidence(media: ClipMedia, i: int) -> dict[str, float]:
    """Per measure (pitch, spread, time, level): log-likelihood ratio of line i's reading as said
    neutral vs as said with its scripted emotion. Lines without a clear voice pitch get no pitch,
    spread or time evidence: their span is placed by the aligner's length prior (drowned clips:
    aligned length 0.5 x the true one), so their length would read "as scripted" whatever was
    said. The level (`line_level.flat_level_evidence`) needs no pitch (decision 190). The pitch is read
    less exactly on a line with few voice frames (`line_pitch_sd`, decision 207)."""
    scene = media.scene
    line = scene.lines[i]
    p = line_prosody(media)[i]
    voice = scene.character(line.speaker).voice
    out = {}
    if p.pitch is not None and line.delivery is not Delivery.whisper:
        offset, offset_sd = speaker_level(media, line.speaker, leave_out=i)
        sd = math.hypot(line_pitch_sd(p.frames), offset_sd)
        as_scripted = expected_pitch(voice, line.emotion, line.delivery) + offset
        neutral = expected_pitch(voice, Emotion.neutral, line.delivery) + offset
        out["pitch"] = llr(p.pitch, neutral, as_scripted, sd, OUTLIER_WIDTH["pitch"])
        out["spread"] = llr(p.spread, expected_spread(voice, Emotion.neutral, line.delivery),
                            expected_spread(voice, line.emotion, line.delivery), SPREAD_SD, OUTLIER_WIDTH["spread"])
    flat_time = log_seconds(line.model_copy(update={"emotion": Emotion.neutral}), voice)
    if flat_time is not None and out:  # a span without a clear voice pitch is placed by the length prior
        shift = TIME_SHRINK * (flat_time - log_seconds(line, voice))
        out["time"] = llr(p.log_time, shift, 0.0, TIME_SD, OUTLIER_WIDTH["time"])
    level = flat_level_evidence(media, i)
    if level is not None:
        out["level"] = level
    return out


def flat_scores(media: ClipMedia) -> dict[int, float]:
    """Per found line: how much better "spoken neutral" explains its prosody than "spoken with its
    scripted emotion" (a log-likelihood ratio; higher = flatter than the emotion asks).

    Pitch (against the speaker's level from their other lines), pitch spread, speaking time and
    level (against the clip's other lines) are each predicted twice by the script model, with the
    line's emotion and with the neutral emotion (`flat_evidence`); the score is the sum of the four
    ratios. A line whose emotion predicts neutral prosody gets ~0 either way. A line scripted as
    shouted or whispered reads at most 0: its prosody is the delivery's (a shout's raised pitch and
    wide range, a whisper's lack of voice), which no emotion flattens (decision 190).
    """
    scene = media.scene
    out = {}
    for i in line_prosody(media):
        score = sum(flat_evidence(media, i).values())
        out[i] = score if scene.lines[i].delivery in SPOKEN_PLAIN else min(score, 0.0)
    return out


def others_in_shot(scene, i: int) -> list[str]:
    """The characters other than the speaker that the script shows in line i's shot."""
    try:
        subjects = scene.shots[scene.shot_of_line(i)].subjects
    except KeyError:
        return []
    return [c for c in subjects if c != scene.lines[i].speaker]


def log_density(x: float, mean: float, sd: float, width: float) -> float:
    """log of a Gaussian of `sd` around `mean` mixed with a flat outlier share over `width`."""
    z = (x - mean) / sd
    return math.log((1 - OUTLIER_SHARE) * math.exp(-0.5 * z * z) / (sd * math.sqrt(2 * math.pi)) + OUTLIER_SHARE / width)


def llr(x: float, alt: float, null: float, sd: float, width: float) -> float:
    """log p(x | alt) - log p(x | null): Gaussians of `sd` around each, mixed with a flat outlier share."""
    return log_density(x, alt, sd, width) - log_density(x, null, sd, width)


def other_voice_evidence(media: ClipMedia, i: int, other: str) -> float:
    """How much better `other`'s scripted voice explains line i's pitch and speaking time than either
    its speaker's voice or a voice the script does not know (a log-likelihood ratio; 0 where the line
    has neither measure).

    The unknown voice (pitch anywhere over UNKNOWN_VOICE_WIDTH, time anywhere over its outlier
    width) keeps a line that sounds like nobody in the scene, e.g. a character's voice swapped for
    a new one, from reading as the other character's just because it is less unlike them.
    """
    scene = media.scene
    line = scene.lines[i]
    p = line_prosody(media).get(i)
    if p is None:
        return 0.0
    own_voice, other_voice = scene.character(line.speaker).voice, scene.character(other).voice
    theirs = own = unknown = 0.0
    if p.pitch is not None and line.delivery is not Delivery.whisper:
        level, level_sd = speaker_level(media, line.speaker, leave_out=i)
        their_level, their_sd = speaker_level(media, other)
        sd = math.hypot(PITCH_SD, max(level_sd, their_sd))
        width = OUTLIER_WIDTH["pitch"]
        theirs += log_density(p.pitch, expected_pitch(other_voice, line.emotion, line.delivery) + their_level, sd, width)
        own += log_density(p.pitch, expected_pitch(own_voice, line.emotion, line.delivery) + level, sd, width)
        unknown -= math.log(UNKNOWN_VOICE_WIDTH)
    own_time, their_time = log_seconds(line, own_voice), log_seconds(line, other_voice)
    if own_time is not None:
        theirs += log_density(p.log_time, TIME_SHRINK * (their_time - own_time), TIME_SD, OUTLIER_WIDTH["time"])
        own += log_density(p.log_time, 0.0, TIME_SD, OUTLIER_WIDTH["time"])
        unknown -= math.log(OUTLIER_WIDTH["time"])
    return theirs - max(own, unknown) if (theirs or own) else 0.0


def voice_change(media: ClipMedia, explained: frozenset[int] | set[int] = frozenset()) -> tuple[float, str | None, int | None]:
    """The strongest sign that a character's voice changes from one of their lines on: (score,
    character, first changed line).

    For each character and each split of their lines with a pitch (in order) into before /
    from-here-on, the later lines' pitch residuals (measured minus the script's prediction) are
    compared with the earlier ones' mean shrunk toward the script (SPEAKER_SD; with no earlier
    line the script alone, so a character whose earlier lines are whispered is still judged):
    z = difference / its standard error, and the score is z squared (a voice that moves 4
    semitones reads ~16; another gender ~150+). The split is never at the character's first line.
    Whispered lines carry no pitch; lines in `explained` (voiced by another character in the shot,
    as the identity score finds them) are left out: a wrong speaker on one line is not a voice
    that changed.
    """
    scene = media.scene
    residuals = pitch_residuals(media)
    by_speaker: dict[str, list[int]] = {}
    for i in sorted(residuals):
        if scene.lines[i].delivery is not Delivery.whisper and i not in explained:
            by_speaker.setdefault(scene.lines[i].speaker, []).append(i)
    best: tuple[float, str | None, int | None] = (0.0, None, None)
    for who, lines in by_speaker.items():
        first = min(j for j, line in enumerate(scene.lines) if line.speaker == who)
        for k in range(len(lines)):
            if lines[k] == first:
                continue  # a voice cannot change on its first line
            before = [residuals[j] for j in lines[:k]]
            after = [residuals[j] for j in lines[k:]]
            precision = len(before) / PITCH_SD**2 + 1 / SPEAKER_SD**2
            level = sum(before) / PITCH_SD**2 / precision
            z = (float(np.mean(after)) - level) / math.sqrt(PITCH_SD**2 / len(after) + 1 / precision)
            if z * z > best[0]:
                best = (z * z, who, lines[k])
    return best
