"""Turn voiced speech into a whisper: keep the vocal-tract filter, swap the voice source for noise.

Per 23 ms frame an order-16 LPC model of the speech is fitted; white noise shaped by that filter
(at the frame's prediction-error level) replaces the glottal pulses, which is what whispering is.
A little of the voiced signal is kept (`voicing`) so the words stay intelligible. Measurable result:
F0 mostly undetectable, energy above 2 kHz relative to below 2 kHz rises by several dB compared with
the voiced line (spectral tilt), and the level is set by the caller (~15 dB below normal).
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from generators.audio.dsp import highpass

LPC_ORDER = 16


def _lpc(frame: np.ndarray, order: int) -> tuple[np.ndarray, float]:
    """Autocorrelation-method LPC (Levinson-Durbin): (a with a[0] = 1, prediction error power)."""
    r = np.correlate(frame, frame, mode="full")[len(frame) - 1 : len(frame) + order]
    if r[0] <= 1e-10:
        return np.r_[1.0, np.zeros(order)], 0.0
    r = r.copy()
    r[0] *= 1.0 + 1e-4  # white-noise correction keeps the recursion stable
    a = np.zeros(order + 1)
    a[0] = 1.0
    err = r[0]
    for i in range(1, order + 1):
        k = -(r[i] + np.dot(a[1:i], r[i - 1 : 0 : -1])) / err
        a[1:i] = a[1:i] + k * a[i - 1 : 0 : -1]
        a[i] = k
        err *= 1.0 - k * k
        if err <= 0:
            break
    return a, max(err, 0.0)


def whisperize(samples: np.ndarray, sample_rate: int, seed: int = 0, voicing: float = 0.12) -> np.ndarray:
    """Breathy, unvoiced version of `samples` (same length, roughly the same loudness)."""
    x = np.asarray(samples, dtype=np.float64)
    n_fft = int(2 ** np.ceil(np.log2(0.023 * sample_rate)))
    hop = n_fft // 2
    window = np.hanning(n_fft)
    pad = np.concatenate([np.zeros(hop), x, np.zeros(n_fft)])
    out = np.zeros_like(pad)
    norm = np.zeros_like(pad)
    rng = np.random.default_rng(seed)
    emphasised = signal.lfilter([1.0, -0.9], [1.0], pad)  # pre-emphasis flattens the tilt for LPC
    for start in range(0, len(pad) - n_fft, hop):
        frame = emphasised[start : start + n_fft] * window
        a, err = _lpc(frame, LPC_ORDER)
        if err <= 0:
            continue
        noise = rng.standard_normal(n_fft) * np.sqrt(err / n_fft)
        shaped = signal.lfilter([1.0], a, noise)
        out[start : start + n_fft] += shaped * window
        norm[start : start + n_fft] += window**2
    out = out / np.maximum(norm, 1e-3)
    out = out[hop : hop + len(x)]
    # aspiration noise carries little below ~300 Hz; this also removes LPC low-frequency rumble
    out = highpass(out.astype(np.float32), sample_rate, 300.0)
    level = np.sqrt(np.mean(x**2)) / (np.sqrt(np.mean(out.astype(np.float64) ** 2)) + 1e-12)
    mixed = out * level * (1.0 - voicing) + highpass(x.astype(np.float32), sample_rate, 500.0) * voicing
    return mixed.astype(np.float32)
