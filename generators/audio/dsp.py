"""Small signal helpers shared by voices, beds and the mixer: levels, resampling, trimming, filters."""

from __future__ import annotations

from math import gcd

import numpy as np
from scipy import signal


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0


def rms_dbfs(samples: np.ndarray) -> float:
    value = rms(samples)
    return 20.0 * np.log10(value) if value > 0 else float("-inf")


def set_rms_dbfs(samples: np.ndarray, target_dbfs: float) -> np.ndarray:
    """Scale to an RMS level in dBFS (silence stays silence)."""
    value = rms(samples)
    if value <= 0:
        return samples.astype(np.float32)
    return (samples * (db_to_gain(target_dbfs) / value)).astype(np.float32)


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling between integer rates (anti-aliased, deterministic)."""
    if rate_in == rate_out:
        return np.asarray(samples, dtype=np.float32)
    g = gcd(int(rate_in), int(rate_out))
    return signal.resample_poly(np.asarray(samples, dtype=np.float64), rate_out // g, rate_in // g).astype(np.float32)


def frame_rms_db(samples: np.ndarray, sample_rate: int, frame_s: float = 0.01) -> np.ndarray:
    """RMS level per frame in dBFS (floor -120)."""
    hop = max(1, int(sample_rate * frame_s))
    n = len(samples) // hop
    if n == 0:
        return np.full(1, -120.0)
    frames = np.asarray(samples[: n * hop], dtype=np.float64).reshape(n, hop)
    level = np.sqrt(np.mean(frames**2, axis=1))
    return 20.0 * np.log10(np.maximum(level, 1e-6))


def trim_silence(samples: np.ndarray, sample_rate: int, threshold_db: float = -45.0, pad_s: float = 0.02) -> np.ndarray:
    """Cut leading/trailing frames quieter than `threshold_db` below the peak frame, keeping a short pad."""
    hop = max(1, int(sample_rate * 0.01))
    levels = frame_rms_db(samples, sample_rate, 0.01)
    loud = np.nonzero(levels > levels.max() + threshold_db)[0]
    if len(loud) == 0:
        return np.asarray(samples[:0], dtype=np.float32)
    pad = int(pad_s * sample_rate)
    start = max(0, loud[0] * hop - pad)
    end = min(len(samples), (loud[-1] + 1) * hop + pad)
    return np.asarray(samples[start:end], dtype=np.float32)


def fade(samples: np.ndarray, sample_rate: int, in_s: float = 0.005, out_s: float = 0.005) -> np.ndarray:
    """Short linear fades so cut edges do not click."""
    out = np.array(samples, dtype=np.float32)
    n_in = min(len(out), int(in_s * sample_rate))
    n_out = min(len(out), int(out_s * sample_rate))
    if n_in:
        out[:n_in] *= np.linspace(0.0, 1.0, n_in, dtype=np.float32)
    if n_out:
        out[-n_out:] *= np.linspace(1.0, 0.0, n_out, dtype=np.float32)
    return out


def bandpass(samples: np.ndarray, sample_rate: int, low_hz: float, high_hz: float, order: int = 2) -> np.ndarray:
    nyq = sample_rate / 2.0
    low = max(1.0, low_hz) / nyq
    high = min(high_hz, nyq * 0.98) / nyq
    sos = signal.butter(order, [low, high], btype="bandpass", output="sos")
    return signal.sosfilt(sos, samples).astype(np.float32)


def lowpass(samples: np.ndarray, sample_rate: int, cutoff_hz: float, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, min(cutoff_hz, sample_rate * 0.49) / (sample_rate / 2.0), btype="lowpass", output="sos")
    return signal.sosfilt(sos, samples).astype(np.float32)


def highpass(samples: np.ndarray, sample_rate: int, cutoff_hz: float, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, min(cutoff_hz, sample_rate * 0.49) / (sample_rate / 2.0), btype="highpass", output="sos")
    return signal.sosfilt(sos, samples).astype(np.float32)


def soft_clip(samples: np.ndarray, drive: float = 1.0) -> np.ndarray:
    """tanh saturation: keeps peaks under 1.0 and adds the harmonics of a strained voice."""
    return (np.tanh(samples * drive) / np.tanh(drive)).astype(np.float32)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise by spectral shaping of white noise, unit RMS."""
    if n <= 0:
        return np.zeros(0, dtype=np.float32)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.arange(len(spectrum), dtype=np.float64)
    freqs[0] = 1.0
    shaped = np.fft.irfft(spectrum / np.sqrt(freqs), n)
    return (shaped / (np.std(shaped) + 1e-12)).astype(np.float32)


def spectral_centroid_hz(samples: np.ndarray, sample_rate: int) -> float:
    """Power-weighted mean frequency of the whole signal (a brightness / tilt measure)."""
    power = np.abs(np.fft.rfft(np.asarray(samples, dtype=np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1.0 / sample_rate)
    total = power.sum()
    return float((freqs * power).sum() / total) if total > 0 else 0.0


def band_energy_ratio_db(samples: np.ndarray, sample_rate: int, split_hz: float = 2000.0) -> float:
    """Energy above `split_hz` over energy below it, in dB (spectral tilt: whispers score high)."""
    power = np.abs(np.fft.rfft(np.asarray(samples, dtype=np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1.0 / sample_rate)
    high = power[freqs >= split_hz].sum()
    low = power[(freqs < split_hz) & (freqs >= 50)].sum()
    return float(10.0 * np.log10((high + 1e-12) / (low + 1e-12)))
