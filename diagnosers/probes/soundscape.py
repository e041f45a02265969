"""Non-speech audio probes: ambience floor, background level, music mood and drift.

The music probe describes the bed from a long-window spectrogram (256 ms, 3.9 Hz bins) of the whole
clip: a time median over ~1 s keeps sustained notes (pads, bass, drones hold for a bar) and drops
speech, whose harmonics glide; peaks above the local spectral median are the bed's tones
(`tonal_excess`). The mood's valence is read from the key of those tones and from a low drone;
drift from the bed's floor level, tones and low-band rhythm changing between the clip's halves.
Two logistic models combine the descriptors (`music_model.json`, fitted on labelled fitting clips
by `fit_music_model`; decision 091). The scripted-sound probe (`cues.py`) keeps its per-kind
readings under the key "cues" of the same file (`fit_cue_reference`; decision 150).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from diagnosers.media import SAMPLE_RATE, ClipMedia
from diagnosers.probes.base import ModeScore, load_model, probe
from diagnosers.probes.features import rms_db, spectral_frames, speech_mask
from scenes.vocabulary import MOOD_AFFECT

MODEL = Path(__file__).with_name("music_model.json")
MIN_FIT_CLIPS = 5  # clips with and without a quality that a music model part needs to be fitted

# Krumhansl–Kessler key profiles (major, minor), rotated over the 12 tonics.
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_KEYS = np.stack([np.roll(MAJOR, k) for k in range(12)] + [np.roll(MINOR, k) for k in range(12)])

LONG_N, LONG_HOP = 4096, 2048  # 256 ms window, 128 ms hop at 16 kHz: 3.9 Hz bins resolve semitones from ~70 Hz
LONG_MAX_HZ = 2100.0  # tones above 2 kHz are not used; the margin feeds the spectral median at the band edge
LONG_SPECTRUM_HZ = 4000.0  # the ambience floor is read up to 4 kHz
SUSTAIN_FRAMES = 7  # time median over 7 hops (0.9 s): a held note survives, a syllable's harmonic does not
BASELINE_BINS = 41  # local spectral median over 160 Hz: the noise/speech floor under the tones
BASELINE_STEP = 8
# Log bands the ambience floor is read in (equal weight per band, not per bin: a bed that fills only
# the low octaves, an engine or wind, counts; decision 151)
AMBIENCE_BANDS = np.geomspace(100.0, 4000.0, 9)
CONFLICT_FEATURES = ("key_median", "key_mean", "drone")
DRIFT_FEATURES = ("floor_change", "tone_change", "rhythm_change")

# A normally mixed scene keeps its dialogue at -24..-18 dBFS (clean fitting clips: 80 % of the
# clips' speech frames read -23..-18 at the 60th percentile); quieter readings are whispered scenes
# or speech the detector missed, louder ones the detector taking a loud bed for speech. The bed is
# compared with the dialogue level held inside that range (decision 092).
DIALOGUE_DBFS = (-24.0, -18.0)


def background_frames(media: ClipMedia) -> np.ndarray:
    """Boolean per 20 ms frame: at least 100 ms away from any speech segment."""

    def compute(m: ClipMedia) -> np.ndarray:
        mask = speech_mask(m)
        grown = np.convolve(mask.astype(float), np.ones(11), "same") > 0
        return ~grown

    return media.feature("background_frames", compute)


def long_spectrum(media: ClipMedia) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Long-window log power: (raw per frame up to 4 kHz, its median over 7 frames up to 2.1 kHz, bin frequencies).

    4096-point Hann frames with a 2048 hop (256 ms, 3.9 Hz bins) of the whole clip, float32 FFT.
    The time median (a held note survives, a syllable's gliding harmonic does not) is only taken
    where the music's tones are read (<= 2.1 kHz): it is most of this feature's cost.
    """

    def compute(m: ClipMedia) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import scipy.fft
        from numpy.lib.stride_tricks import sliding_window_view

        freqs = np.fft.rfftfreq(LONG_N, 1 / SAMPLE_RATE)
        k = int(np.searchsorted(freqs, LONG_SPECTRUM_HZ))
        a = m.audio.astype(np.float32)
        n = (len(a) - LONG_N) // LONG_HOP + 1
        if n < 2:
            return np.zeros((1, k), np.float32), np.zeros((1, int(np.searchsorted(freqs, LONG_MAX_HZ))), np.float32), freqs[:k]
        idx = np.arange(n)[:, None] * LONG_HOP + np.arange(LONG_N)[None, :]
        power = np.abs(scipy.fft.rfft(a[idx] * np.hanning(LONG_N).astype(np.float32), axis=1)[:, :k]) ** 2
        logp = np.log(power + 1e-12).astype(np.float32)
        half = SUSTAIN_FRAMES // 2
        k2 = int(np.searchsorted(freqs, LONG_MAX_HZ))
        stack = np.ascontiguousarray(sliding_window_view(np.pad(logp[:, :k2], ((half, half), (0, 0)), mode="edge"), SUSTAIN_FRAMES, axis=0))
        held = np.partition(stack, half, axis=-1)[..., half]  # median of 7
        return logp, held, freqs[:k]

    return media.feature("sound:long_spectrum", compute)


def tonal_excess(media: ClipMedia) -> tuple[np.ndarray, np.ndarray]:
    """Sustained tones: per long-window frame and bin (<= 2.1 kHz), log power above the local median.

    The 7-frame time median of `long_spectrum` (a held note survives, a syllable's gliding harmonic
    does not), minus its median over 41 bins in frequency (taken every 8 bins and interpolated),
    minus 1 (nat), floored at 0. Returns (excess, bin frequencies).
    """

    def compute(m: ClipMedia) -> tuple[np.ndarray, np.ndarray]:
        from numpy.lib.stride_tricks import sliding_window_view

        _, held, freqs_all = long_spectrum(m)
        k = held.shape[1]
        freqs = freqs_all[:k]
        if len(held) < 2:
            return np.zeros((1, k), np.float32), freqs
        # the 41-bin median every 8 bins, linearly interpolated between (the floor is smooth; 6x cheaper)
        w = BASELINE_BINS // 2
        centres = np.arange(0, k + BASELINE_STEP, BASELINE_STEP)
        padded = np.pad(held, ((0, 0), (w, w + BASELINE_STEP)), mode="edge")
        windows = np.ascontiguousarray(sliding_window_view(padded, BASELINE_BINS, axis=1)[:, centres])
        coarse = np.partition(windows, w, axis=-1)[..., w]
        pos = np.arange(k) / BASELINE_STEP
        i0 = pos.astype(int)
        frac = (pos - i0)[None, :]
        base = coarse[:, i0] * (1 - frac) + coarse[:, i0 + 1] * frac
        return np.maximum(held - base - 1.0, 0.0).astype(np.float32), freqs

    return media.feature("sound:tonal_excess", compute)


def ambience_floor(media: ClipMedia) -> float | None:
    """How far the clip's sound floor sits under its loudest sustained tone (nats, 100 Hz-4 kHz).

    Floor = per log band (8 bands, 1.6x wide, 100 Hz-4 kHz), the median over the band's bins of each
    bin's 10th percentile over time of the long-window log power (the quietest moments between notes
    and words); tone = median over frames of the loudest bin (100 Hz-2.1 kHz) of the 7-frame time
    median (the music's held tones). Score = tone minus the bands' mean floor: an ambience bed fills
    the floor in the bands it covers (an idling engine or wind fills only the low ones), music and
    speech alone leave it near silence (decisions 092, 151). None for clips shorter than ~0.5 s.
    """
    logp, held, freqs = long_spectrum(media)
    if len(logp) < 4:
        return None
    quiet = np.percentile(logp, 10, axis=0)
    band = np.digitize(freqs, AMBIENCE_BANDS) - 1
    floors = [float(np.median(quiet[band == b])) for b in range(len(AMBIENCE_BANDS) - 1) if np.any(band == b)]
    tones = freqs[: held.shape[1]] >= AMBIENCE_BANDS[0]
    tone = float(np.median(held[:, tones].max(axis=1)))
    return tone - float(np.mean(floors))


def _chroma(excess: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """12 pitch-class weights of a tonal-excess spectrum, 200 Hz-2 kHz."""
    band = (freqs >= 200) & (freqs <= 2000)
    pc = (np.round(12 * np.log2(freqs[band] / 440.0)) % 12).astype(int)
    return np.bincount(pc, weights=excess[band], minlength=12)


def _key_score(chroma: np.ndarray) -> float:
    """Best major-key correlation minus best minor-key correlation of a chroma vector (0 if flat)."""
    v = chroma - chroma.mean()
    if not np.any(v):
        return 0.0
    keys = _KEYS - _KEYS.mean(axis=1, keepdims=True)
    r = keys @ v / (np.linalg.norm(keys, axis=1) * np.linalg.norm(v))
    return float(r[:12].max() - r[12:].max())


def _cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(1.0 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def music_descriptors(media: ClipMedia) -> dict[str, float]:
    """What the music probe measures (see `music`): key and drone for the mood, half-to-half changes for drift."""

    def compute(m: ClipMedia) -> dict[str, float]:
        excess, freqs = tonal_excess(m)
        half = len(excess) // 2
        tones = (freqs >= 60) & (freqs <= 2000)
        drone = (freqs >= 20) & (freqs < 100)
        db = rms_db(m)
        h = len(db) // 2
        spec, sfreqs = spectral_frames(m)
        low = np.log((spec[:, (sfreqs >= 30) & (sfreqs < 90)] ** 2).sum(axis=1) + 1e-9)
        flux = np.maximum(np.diff(low, prepend=low[:1]), 0.0)
        hs = len(flux) // 2
        return {
            "key_median": _key_score(_chroma(np.median(excess, axis=0), freqs)),
            "key_mean": _key_score(_chroma(excess.mean(axis=0), freqs)),
            "drone": float(np.log1p(excess[:, drone].sum(axis=1).mean())),
            "floor_change": float(abs(np.percentile(db[h:], 20) - np.percentile(db[:h], 20))) if h >= 10 else 0.0,
            "tone_change": _cosine_distance(excess[:half, tones].mean(axis=0), excess[half:, tones].mean(axis=0)) if half else 0.0,
            "rhythm_change": float(abs(np.log(flux[hs:].mean() + 1e-3) - np.log(flux[:hs].mean() + 1e-3))) if hs >= 10 else 0.0,
        }

    return media.feature("sound:music_descriptors", compute)


def _logit(part: dict, d: dict[str, float]) -> float:
    x = np.array([d[k] for k in part["features"]])
    z = (x - np.asarray(part["mean"])) / np.asarray(part["scale"])
    return float(z @ np.asarray(part["coef"]) + part["intercept"])


def music_valence(d: dict[str, float], path: str | None = None) -> float:
    """Log-odds that the bed sounds positive (major, no drone); without the model, the mean key score x 10."""
    model = load_model(str(path or MODEL))
    if model is None or "valence" not in model:
        return 10.0 * 0.5 * (d["key_median"] + d["key_mean"])
    return _logit(model["valence"], d)


def music_drift_odds(d: dict[str, float], path: str | None = None) -> float:
    """Log-odds that the bed changes between halves; without the model, each change over a typical clean reading."""
    model = load_model(str(path or MODEL))
    if model is None or "drift" not in model:
        # 95th percentiles on fitting clips without a drift: 1.3 dB, 0.45, 0.3
        return d["floor_change"] / 1.3 + d["tone_change"] / 0.45 + d["rhythm_change"] / 0.3 - 3.0
    return _logit(model["drift"], d)


def _fit_logistic(X: np.ndarray, y: np.ndarray, features: tuple[str, ...]) -> dict:
    from sklearn.linear_model import LogisticRegression

    mean, scale = X.mean(axis=0), X.std(axis=0) + 1e-9
    clf = LogisticRegression(C=1.0, max_iter=1000).fit((X - mean) / scale, y)
    return {"features": list(features), "mean": mean.tolist(), "scale": scale.tolist(), "coef": clf.coef_[0].tolist(),
            "intercept": float(clf.intercept_[0]), "clips": len(y), "positives": int(y.sum()),
            "train_accuracy": float(clf.score((X - mean) / scale, y))}


def fit_music_model(samples: Iterable[tuple], out: Path = MODEL) -> dict:
    """Fit the valence and drift models on `(media, manifest)` pairs of fitting clips; writes and returns them.

    Valence: label = the valence sign of the music actually played (the scripted music mood, or the
    mood a `music_opposite` fault put in its place), on clips without a music drift. Drift: label =
    the clip has a `music_drift` fault. Only fitting clips' manifests are read.
    """
    vx, vy, dx, dy = [], [], [], []
    for media, manifest in samples:
        scene = media.scene
        if scene is None or scene.atmosphere.music is None:
            continue
        d = music_descriptors(media)
        faults = {f.fault: f for f in manifest.faults}
        played = scene.atmosphere.music.mood.value
        if "music_opposite" in faults:
            played = faults["music_opposite"].params.get("music_mood", played)
        valence = next(v for m, v in MOOD_AFFECT.items() if m.value == played)[0]
        if "music_drift" not in faults and abs(valence) >= 0.3:
            vx.append([d[k] for k in CONFLICT_FEATURES])
            vy.append(valence > 0)
        dx.append([d[k] for k in DRIFT_FEATURES])
        dy.append("music_drift" in faults)
    model = dict(load_model(str(out)) or {})  # a part with too few clips of either kind keeps what the file has
    skipped = {}
    for part, X, y, features in (("valence", vx, vy, CONFLICT_FEATURES), ("drift", dx, dy, DRIFT_FEATURES)):
        y = np.asarray(y, bool)
        if min(int(y.sum()), int((~y).sum())) < MIN_FIT_CLIPS:
            skipped[part] = f"needs {MIN_FIT_CLIPS} clips of each kind, got {int(y.sum())} and {int((~y).sum())}"
            continue
        model[part] = _fit_logistic(np.asarray(X), y, features)
    out.write_text(json.dumps(model, indent=1), encoding="utf-8")
    load_model.cache_clear()
    return {**model, "skipped": skipped} if skipped else model


@probe("soundscape", ("sd.missing_ambient_sound", "sd.overpowering_background_audio"))
def soundscape(media: ClipMedia) -> list[ModeScore]:
    """Sound outside speech measured against the scripted atmosphere.

    - missing ambient sound: how far the sound floor, per log band, sits under the music's loudest
      sustained tone (`ambience_floor`, nats; decisions 092, 151): ambience (rain, traffic, room
      tone, crowd) fills the quiet moments between notes and words in the bands it covers, music
      and speech alone leave them near silence;
    - overpowering background: the bed's level (60th percentile of the speech-free frames' dBFS;
      the quietest 20 % of all frames when there are none) minus the dialogue level (60th
      percentile of the speech frames), the dialogue level held inside a normal mix's -24..-18 dBFS
      (decision 092): clean clips read -12..-4 dB, drowned ones -1..+6.
    """
    scene = media.scene
    db = rms_db(media)
    bg = background_frames(media)
    mask = speech_mask(media)
    spec, _ = spectral_frames(media)
    n = min(len(db), len(spec))
    db, bg, mask, spec = db[:n], bg[:n], mask[:n], spec[:n]
    speech_db = float(np.percentile(db[mask], 60)) if mask.any() else None
    bg_db = float(np.percentile(db[bg], 60)) if bg.sum() >= 10 else (float(np.percentile(db, 20)) if n else None)
    gap = ambience_floor(media) if scene.atmosphere.ambience else None  # no scripted ambience: nothing to miss
    ambient = ModeScore("sd.missing_ambient_sound", gap, windows=[(0.0, media.duration_s, gap)] if gap is not None else [],
                        detail={"floor_under_tone": gap})
    # no speech found at all: compare with the loud end of normal dialogue (a drowned voice reads as none)
    dialogue = float(np.clip(speech_db, *DIALOGUE_DBFS)) if speech_db is not None else DIALOGUE_DBFS[1]
    over_score = None if bg_db is None else bg_db - dialogue
    over = ModeScore("sd.overpowering_background_audio", over_score,
                     windows=[(0.0, media.duration_s, over_score)] if over_score is not None else [],
                     detail={"background_db": bg_db, "speech_db": speech_db, "dialogue_db": dialogue})
    return [ambient, over]


@probe("music", ("mc.scene_music_emotion_conflict", "mc.music_tone_drift"))
def music(media: ClipMedia) -> list[ModeScore]:
    """The music bed's mood and its stability, from its sustained tones, floor level and low-band rhythm.

    Descriptors (`music_descriptors`, all over the whole clip so that no speech detector is needed):
    key_median / key_mean = best major minus best minor Krumhansl key correlation of the sustained
    tones' pitch classes (200 Hz-2 kHz; median and mean over time); drone = sustained tonal excess
    20-100 Hz (a held low tone under the score, the sound of dread); floor_change = |20th
    percentile of frame level, second half minus first| (dB: the bed's loudness under the
    dialogue); tone_change = cosine distance of the halves' sustained-tone spectra 60 Hz-2 kHz;
    rhythm_change = |log ratio| of the halves' mean rising flux in 30-90 Hz (kicks and bass notes).

    - scene–music emotion conflict: the bed's log-odds of sounding positive (logistic model on
      key_median, key_mean, drone) times minus the sign of the scripted music mood's valence: high
      when a joyful scene has minor, droning music or a sad one bright major music; for a scripted
      mood without clear valence (|v| < 0.1), minus the odds' size;
    - music tone drift: the log-odds (logistic model on the three changes) that the bed changes
      character between the halves; window = the second half.
    """
    scene = media.scene
    if scene is None or scene.atmosphere.music is None or media.duration_s < 2.0:
        return [ModeScore("mc.scene_music_emotion_conflict", None), ModeScore("mc.music_tone_drift", None)]
    d = music_descriptors(media)
    odds = music_valence(d)
    valence = MOOD_AFFECT[scene.atmosphere.music.mood][0]
    conflict = -float(np.sign(valence)) * odds if abs(valence) >= 0.1 else -abs(odds)
    drift = music_drift_odds(d)
    t_half = media.duration_s / 2
    return [
        ModeScore("mc.scene_music_emotion_conflict", float(conflict), windows=[(0.0, media.duration_s, float(conflict))],
                  detail=d | {"valence_odds": odds, "mood_valence": valence}),
        ModeScore("mc.music_tone_drift", float(drift), windows=[(t_half, media.duration_s, float(drift))], detail=d),
    ]
