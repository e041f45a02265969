"""Speech presence per 32 ms frame and line durations from text: two small models fitted on labelled clips.

**Speech frames.** silero-vad alone misses much of the synthetic (espeak-ng) speech under music
beds. The fused model keeps silero's probability as a feature and adds what separates a voice from
a bed in the clip itself: log energies in 24 log-spaced bands (80 Hz-7.9 kHz) relative to the
clip's median and to its 10th percentile per band (the bed's floor), total level, spectral flux,
autocorrelation harmonicity in the 70-400 Hz pitch range, and the same averaged over ±2 and ±7
frames plus the ±7-frame spread of the band levels (speech modulates at the syllable rate, beds
sustain). Labels are the frames inside the fitting clips' line spans where the voice is heard
(muted parts of a line and silent lines are labelled silence). Logistic regression: a one-hidden-
layer network gained 0.6 points of held-out frame accuracy (0.899 vs 0.892) for 30x the fitting
time and a clear train/test gap (decision 087).

**Line durations.** How long a line takes to say, from its script alone: log seconds is linear in
log letters, log words, commas, sentence breaks inside the line, log voice rate, the emotion's
arousal, a low-arousal-negative (sad) flag, whisper/shout and digits. Fitted on the fitting clips'
measured line spans (cut-off lines left out); residual spread ~0.10 in log seconds, against 0.26
for `estimate_line_seconds` (decision 087). The aligner uses it as its length prior.

Weights (`speech_model.json`) are written by `fit_speech_model` and applied with numpy; without the
file, silero's probability and `estimate_line_seconds` are used.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from diagnosers.media import SAMPLE_RATE, ClipMedia
from diagnosers.probes.base import load_model
from diagnosers.probes.features import VAD_CHUNK, VAD_S, speech_probs
from scenes import EMOTION_AFFECT, Delivery
from scenes.schema import estimate_line_seconds

MODEL = Path(__file__).with_name("speech_model.json")
EDGES = np.geomspace(80.0, 7900.0, 25)  # 24 log-spaced bands
DURATION_FEATURES = ("bias", "log_letters", "log_words", "commas", "sentence_breaks", "log_voice_rate", "arousal",
                     "sad", "whisper", "shout", "digits")


_HANN = np.hanning(VAD_CHUNK).astype(np.float32)
_FREQS = np.fft.rfftfreq(VAD_CHUNK, 1 / SAMPLE_RATE)
_BAND_MATRIX = ((np.digitize(_FREQS, EDGES) - 1)[:, None] == np.arange(len(EDGES) - 1)[None, :]).astype(np.float32)


def frame_features(media: ClipMedia) -> np.ndarray:
    """(frames, features) for the fused speech model (one row per silero window)."""

    def compute(m: ClipMedia) -> np.ndarray:
        from scipy import fft
        from scipy.ndimage import uniform_filter1d

        p = speech_probs(m).astype(np.float32)
        n = len(p)
        a = m.audio[: n * VAD_CHUNK].reshape(n, VAD_CHUNK) if n else np.zeros((0, VAD_CHUNK), np.float32)
        if len(a) < n:  # silero returns one window for a silent or empty clip
            a = np.zeros((n, VAD_CHUNK), np.float32)
        z = fft.rfft(a * _HANN, axis=1)
        spec = z.real**2 + z.imag**2
        bands = spec @ _BAND_MATRIX
        logb = np.log10(bands + 1e-10)
        rel = logb - np.median(logb, axis=0, keepdims=True)
        floor = logb - np.percentile(logb, 10, axis=0, keepdims=True)
        total = np.log10(bands.sum(axis=1) + 1e-10)
        total = total - np.median(total)
        flux = np.clip(np.diff(logb, axis=0, prepend=logb[:1]), 0, None).mean(axis=1)
        ac = fft.irfft(spec, axis=1)[:, : VAD_CHUNK // 2]  # autocorrelation of each window
        harm = (ac[:, 40:230].max(axis=1) / (ac[:, 0] + 1e-10)) if n else np.zeros(0, np.float32)
        nb = _BAND_MATRIX.shape[1]
        base = np.concatenate([p[:, None], rel, floor, total[:, None], flux[:, None], harm[:, None]], axis=1)
        near = uniform_filter1d(base, 5, axis=0, mode="constant")
        wide = uniform_filter1d(base, 15, axis=0, mode="constant")
        spread = np.sqrt(np.maximum(uniform_filter1d(base**2, 15, axis=0, mode="constant") - wide**2, 0.0))
        return np.concatenate([base, near, wide, spread[:, 1 + nb:]], axis=1).astype(np.float32)

    return media.feature("speech_frame_features", compute)


def fused_speech_probs(media: ClipMedia, path: str | None = None) -> np.ndarray:
    """Probability of speech per 32 ms frame (the fitted fusion, else silero's own)."""

    def compute(m: ClipMedia) -> np.ndarray:
        model = load_model(str(path or MODEL))
        if model is None or len(model.get("coef", ())) != frame_features(m).shape[1]:
            return speech_probs(m)
        x = frame_features(m)
        z = (x - np.asarray(model["mean"])) / np.asarray(model["scale"])
        logit = z @ np.asarray(model["coef"]) + model["intercept"]
        return (1.0 / (1.0 + np.exp(-logit))).astype(np.float32)

    return media.feature("fused_speech_probs", compute)


def line_duration_features(line, voice) -> list[float]:
    """The duration model's inputs for one script line (see DURATION_FEATURES)."""
    text = line.text
    letters = len(re.sub(r"[^A-Za-z]", "", text))
    words = max(1, len(text.split()))
    commas = sum(text.count(c) for c in ",;:") + text.count("—") + text.count(" - ")
    breaks = len(re.findall(r"[.!?]+(?=\s)", text))
    valence, arousal = EMOTION_AFFECT.get(line.emotion, (0.0, 0.3))
    return [1.0, math.log(letters + 1), math.log(words), float(commas), float(breaks), math.log(max(0.1, voice.rate)),
            arousal, float(valence < -0.3 and arousal < 0.4), float(line.delivery is Delivery.whisper),
            float(line.delivery is Delivery.shout), float(len(re.findall(r"\d", text)))]


def predicted_line_seconds(scene, path: str | None = None) -> tuple[list[float], float | None]:
    """Seconds each line should take to say, and the model's spread in log seconds (None: no model, planned durations)."""
    model = load_model(str(path or MODEL))
    durations = (model or {}).get("durations")
    if not durations:
        return [estimate_line_seconds(ln, scene.character(ln.speaker).voice.rate) for ln in scene.lines], None
    w = np.asarray(durations["coef"])
    secs = [float(math.exp(float(np.dot(w, line_duration_features(ln, scene.character(ln.speaker).voice))))) for ln in scene.lines]
    return secs, float(durations["sd"])


def fit_speech_model(samples: Iterable[tuple], out: Path = MODEL) -> dict:
    """Fit the frame model and the duration model; writes and returns them.

    Each sample is `(media, heard_spans)` or `(media, heard_spans, line_seconds)`: the spans where a
    voice is heard (the frame labels) and, per line index, its full spoken length in seconds (lines
    whose length was changed by a fault left out).
    """
    from sklearn.linear_model import LogisticRegression

    xs, ys, dx, dy = [], [], [], []
    for sample in samples:
        media, spans = sample[0], sample[1]
        x = frame_features(media)
        y = np.zeros(len(x), bool)
        for a, b in spans:
            y[int(a / VAD_S): int(np.ceil(b / VAD_S))] = True
        xs.append(x)
        ys.append(y)
        if len(sample) > 2 and media.scene is not None:
            for i, secs in sample[2].items():
                line = media.scene.lines[i]
                if secs > 0.05:
                    dx.append(line_duration_features(line, media.scene.character(line.speaker).voice))
                    dy.append(math.log(secs))
    X, Y = np.concatenate(xs), np.concatenate(ys)
    mean, scale = X.mean(axis=0), X.std(axis=0) + 1e-6
    clf = LogisticRegression(max_iter=2000, C=1.0).fit((X - mean) / scale, Y)
    model = {"mean": mean.tolist(), "scale": scale.tolist(), "coef": clf.coef_[0].tolist(),
             "intercept": float(clf.intercept_[0]), "frames": len(Y), "train_accuracy": float(clf.score((X - mean) / scale, Y))}
    if len(dy) >= 3 * len(DURATION_FEATURES):
        DX, DY = np.asarray(dx), np.asarray(dy)
        # a light ridge keeps rarely seen features (digits, shouts) from taking odd weights
        ridge = 1e-2 * np.eye(DX.shape[1])
        ridge[0, 0] = 0.0
        w = np.linalg.solve(DX.T @ DX + ridge, DX.T @ DY)
        model["durations"] = {"features": list(DURATION_FEATURES), "coef": w.tolist(),
                              "sd": float(np.std(DY - DX @ w)), "lines": len(DY)}
    out.write_text(json.dumps(model) + "\n", encoding="utf-8")
    load_model.cache_clear()
    return model
