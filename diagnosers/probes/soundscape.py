"""Non-speech audio probes: ambience floor, background level, scripted sound onsets, music mode and drift."""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.align import align_lines
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.features import HOP_S, rms_db, spectral_frames, speech_mask
from scenes.vocabulary import MOOD_AFFECT

# Krumhansl–Kessler key profiles (major, minor), rotated over the 12 tonics.
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def background_frames(media: ClipMedia) -> np.ndarray:
    """Boolean per 20 ms frame: at least 100 ms away from any speech segment."""

    def compute(m: ClipMedia) -> np.ndarray:
        mask = speech_mask(m)
        grown = np.convolve(mask.astype(float), np.ones(11), "same") > 0
        return ~grown

    return media.feature("background_frames", compute)


def _chroma(spec: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """12-bin pitch-class energy per frame from the 80 Hz–2 kHz part of the spectrum."""
    band = (freqs >= 80) & (freqs <= 2000)
    pc = (np.round(12 * np.log2(freqs[band] / 440.0)) % 12).astype(int)
    out = np.zeros((spec.shape[0], 12), np.float32)
    power = spec[:, band] ** 2
    for k in range(12):
        out[:, k] = power[:, pc == k].sum(axis=1)
    return out


def _mode_score(chroma: np.ndarray) -> float:
    """Best major-key correlation minus best minor-key correlation of a mean chroma vector."""
    v = chroma / (chroma.sum() + 1e-9)
    major = max(np.corrcoef(v, np.roll(MAJOR, k))[0, 1] for k in range(12))
    minor = max(np.corrcoef(v, np.roll(MINOR, k))[0, 1] for k in range(12))
    return float(major - minor)


@probe("soundscape", ("sd.missing_ambient_sound", "sd.overpowering_background_audio", "sd.missing_scripted_sound"))
def soundscape(media: ClipMedia) -> list[ModeScore]:
    """Sound outside speech measured against the scripted atmosphere.

    - missing ambient sound: the median spectral flatness of the clip's speech-free frames,
      negated (ambience beds are noise-like and flat; music alone or silence is not);
    - overpowering background: background level in speech-free frames minus the speech level
      (dB; near 0 or above means the bed is as loud as the dialogue);
    - missing scripted sound: for each line with a sound cue, the strongest broadband onset
      (spectral flux above 2 kHz, in units of the clip's median flux) near the line, negated.
    """
    scene = media.scene
    db = rms_db(media)
    bg = background_frames(media)
    mask = speech_mask(media)
    spec, freqs = spectral_frames(media)
    n = min(len(db), len(spec))
    db, bg, mask, spec = db[:n], bg[:n], mask[:n], spec[:n]
    speech_db = float(np.percentile(db[mask], 60)) if mask.any() else None
    if bg.sum() >= 10:
        power = spec[bg][:, freqs > 100] ** 2 + 1e-12
        # ambience beds (rain, wind, room tone, traffic) are noise-like: flat spectra; music and
        # silence are not. Flatness = geometric over arithmetic mean of the power spectrum.
        flatness = float(np.median(np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)))
        bg_db = float(np.percentile(db[bg], 60))
    else:
        flatness, bg_db = None, None
    ambient = ModeScore("sd.missing_ambient_sound", None if flatness is None else -flatness,
                        windows=[(0.0, media.duration_s, -flatness)] if flatness is not None else [],
                        detail={"background_flatness": flatness})
    over_score = None if (bg_db is None or speech_db is None) else bg_db - speech_db
    over = ModeScore("sd.overpowering_background_audio", over_score, windows=[(0.0, media.duration_s, over_score)] if over_score is not None else [],
                     detail={"background_db": bg_db, "speech_db": speech_db})
    # onsets
    hi = freqs >= 2000
    energy = np.log(spec[:, hi].sum(axis=1) + 1e-6)
    flux = np.concatenate([[0.0], np.maximum(np.diff(energy), 0.0)])
    ref = float(np.median(flux[flux > 0])) if (flux > 0).any() else 1.0
    spans = {ls.index: ls.span for ls in align_lines(media)}
    cue_lines = sorted({c.at_line for c in scene.atmosphere.sounds})
    missing, windows = {}, []
    for i in cue_lines:
        span = spans.get(i)
        if span is None:
            continue
        a, b = int(max(0.0, span.start - 1.0) / HOP_S), int((span.end + 0.5) / HOP_S)
        strength = float(flux[a:b].max()) / (ref + 1e-9) if b > a else 0.0
        missing[i] = -strength
        windows.append((span.start - 1.0, span.end + 0.5, -strength))
    scripted = ModeScore("sd.missing_scripted_sound", max(missing.values()) if missing else None, missing, windows)
    return [ambient, over, scripted]


@probe("music", ("mc.scene_music_emotion_conflict", "mc.music_tone_drift"))
def music(media: ClipMedia) -> list[ModeScore]:
    """Music character from the speech-free audio: major/minor key correlation and brightness.

    - scene–music emotion conflict: the key's major-minus-minor correlation times the sign of the
      scripted music mood's valence, negated (minor music under a joyful mood, or major under a
      tense one, scores high);
    - music tone drift: change between the first and second half of the speech-free audio in
      chroma (cosine distance) and in major/minor score.
    """
    scene = media.scene
    spec, freqs = spectral_frames(media)
    bg = background_frames(media)[: len(spec)]
    spec = spec[: len(bg)]
    if scene.atmosphere.music is None or bg.sum() < 25:
        return [ModeScore("mc.scene_music_emotion_conflict", None), ModeScore("mc.music_tone_drift", None)]
    chroma = _chroma(spec, freqs)
    mode = _mode_score(chroma[bg].sum(axis=0))
    valence = MOOD_AFFECT[scene.atmosphere.music.mood][0]
    conflict = -np.sign(valence) * mode if abs(valence) > 0.1 else -abs(mode)
    idx = np.nonzero(bg)[0]
    half = idx[len(idx) // 2]
    first, second = chroma[idx[idx < half]].sum(axis=0), chroma[idx[idx >= half]].sum(axis=0)
    cos = float(first @ second / (np.linalg.norm(first) * np.linalg.norm(second) + 1e-9))
    drift = (1 - cos) + abs(_mode_score(first) - _mode_score(second))
    t_half = half * HOP_S
    return [
        ModeScore("mc.scene_music_emotion_conflict", float(conflict), windows=[(0.0, media.duration_s, float(conflict))],
                  detail={"major_minus_minor": mode, "mood_valence": valence}),
        ModeScore("mc.music_tone_drift", float(drift), windows=[(t_half, media.duration_s, float(drift))]),
    ]
