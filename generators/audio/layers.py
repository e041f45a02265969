"""Synthesizers for ambience layers: each makes `n` samples at `sr` from filtered noise or simple tones.

Loudness does not matter here (the bed sets every layer to the same RMS); what matters is the
character a probe can measure, listed per layer in `ambience.py`.
"""

from __future__ import annotations

import numpy as np

from generators.audio.dsp import bandpass, highpass, lowpass, pink_noise


def _slow(n: int, sample_rate: int, rng: np.random.Generator, hz: float) -> np.ndarray:
    """A smooth random curve in [0, 1] varying at about `hz`."""
    points = max(2, int(n / sample_rate * hz) + 2)
    knots = rng.random(points)
    return np.interp(np.arange(n), np.linspace(0, n, points), knots)


def rain(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    hiss = bandpass(rng.standard_normal(n).astype(np.float32), sr, 1000.0, 8000.0)
    drops = np.zeros(n, dtype=np.float32)
    idx = rng.integers(0, n, size=int(n / sr * 120))
    drops[idx] = rng.uniform(0.5, 1.0, size=len(idx))
    drops = highpass(np.convolve(drops, np.exp(-np.arange(int(0.004 * sr)) / (0.0008 * sr)), mode="same"), sr, 2000.0)
    return hiss / (np.std(hiss) + 1e-9) + 1.5 * drops / (np.std(drops) + 1e-9)


def wind(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    base = lowpass(pink_noise(n, rng), sr, 600.0)
    return base * (0.3 + _slow(n, sr, rng, 0.2) ** 2 * 1.4)


def traffic(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    rumble = lowpass(pink_noise(n, rng), sr, 250.0, order=4)
    cars = np.zeros(n)
    t = 0.0
    while t < n / sr:
        center = int(t * sr)
        width = rng.uniform(1.5, 3.0) * sr
        idx = np.arange(max(0, int(center - width)), min(n, int(center + width)))
        cars[idx] += np.exp(-(((idx - center) / (width / 2.5)) ** 2))
        t += rng.uniform(2.0, 6.0)
    swish = bandpass(rng.standard_normal(n).astype(np.float32), sr, 200.0, 2000.0)
    return rumble / (np.std(rumble) + 1e-9) + 0.8 * cars * swish / (np.std(swish) + 1e-9)


def crowd(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n)
    control_hz = 200  # envelopes are computed at a control rate, then interpolated to audio rate
    t = np.arange(int(n / sr * control_hz) + 2) / control_hz
    at = np.arange(n) / sr
    for _ in range(6):
        low = rng.uniform(300.0, 900.0)
        voice = bandpass(rng.standard_normal(n).astype(np.float32), sr, low, low * rng.uniform(2.5, 4.0))
        syllables = np.clip(np.sin(2 * np.pi * rng.uniform(3.0, 6.0) * t + rng.uniform(0, 6.28)), 0, None)
        talking = _slow(len(t), control_hz, rng, 0.5) > 0.35
        out += voice * np.interp(at, t, syllables * talking)
    return out


def birds(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n)
    for _ in range(int(n / sr * 1.5)):
        start = int(rng.integers(0, max(1, n - sr // 4)))
        for c in range(int(rng.integers(1, 4))):
            length = int(rng.uniform(0.04, 0.12) * sr)
            f0, f1 = rng.uniform(2500, 6000, size=2)
            sweep = np.linspace(f0, f1, length)
            chirp = np.sin(2 * np.pi * np.cumsum(sweep) / sr) * np.hanning(length)
            s = start + c * int(0.14 * sr)
            e = min(n, s + length)
            out[s:e] += chirp[: e - s]
    return out


def hum(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    # mains hum repeats every 1/50 s: synthesize a few periods and tile them
    period = np.arange(sr // 10) / sr
    cycle = sum(np.sin(2 * np.pi * 50.0 * k * period + rng.uniform(0, 6.28)) / k for k in (1, 2, 3, 4))
    hum = np.tile(cycle, n // len(cycle) + 1)[:n]
    return hum + 0.3 * lowpass(pink_noise(n, rng), sr, 400.0)


def waves(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n)
    t = 0.0
    while t < n / sr + 4:
        period = rng.uniform(6.0, 9.0)
        center = int((t + period / 2) * sr)
        idx = np.arange(max(0, center - int(period * sr / 2)), min(n, center + int(period * sr / 2)))
        out[idx] += np.exp(-(((idx - center) / (period * sr / 5)) ** 2))
        t += period
    return (0.25 + out) * lowpass(pink_noise(n, rng), sr, 1500.0)


def fire(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    roar = lowpass(pink_noise(n, rng), sr, 300.0)
    crackle = np.zeros(n)
    idx = rng.integers(0, n, size=int(n / sr * 25))
    crackle[idx] = rng.uniform(2.0, 6.0, size=len(idx)) * rng.choice([-1, 1], size=len(idx))
    return roar + highpass(crackle.astype(np.float32), sr, 1000.0)


def kettle(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    rise = np.clip(t / max(t[-1], 1e-6), 0, 1) if n else t
    freq = 1900.0 + 500.0 * rise + 20 * np.sin(2 * np.pi * 5 * t)
    whistle = np.sin(2 * np.pi * np.cumsum(freq) / sr) * rise**1.5
    boil = bandpass(rng.standard_normal(n).astype(np.float32), sr, 200.0, 1500.0)
    return 0.8 * whistle + 0.4 * boil / (np.std(boil) + 1e-9)


def crickets(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    pulses = (np.sin(2 * np.pi * 30.0 * t) > 0) * (np.sin(2 * np.pi * 0.8 * t + rng.uniform(0, 6.28)) > 0.2)
    return np.sin(2 * np.pi * 4500.0 * t) * pulses


def clock(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n)
    tick = np.sin(2 * np.pi * 3000.0 * np.arange(int(0.01 * sr)) / sr) * np.exp(-np.arange(int(0.01 * sr)) / (0.002 * sr))
    for s in range(int(rng.uniform(0.1, 0.9) * sr), n - len(tick), sr):
        out[s : s + len(tick)] += tick
    return out + 0.02 * rng.standard_normal(n)


def water(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    flow = bandpass(rng.standard_normal(n).astype(np.float32), sr, 500.0, 3000.0)
    return flow * (0.5 + _slow(n, sr, rng, 8.0))


def room_tone(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    return lowpass(pink_noise(n, rng), sr, 1000.0)


def _events(n: int, sr: int, rng: np.random.Generator, per_second: float, sound) -> np.ndarray:
    """Sum `sound(rng)` at Poisson-spaced random times (rate `per_second`)."""
    out = np.zeros(n)
    t = rng.exponential(1.0 / per_second)
    while t < n / sr:
        event = sound(rng)
        s = int(t * sr)
        e = min(n, s + len(event))
        out[s:e] += event[: e - s]
        t += rng.exponential(1.0 / per_second)
    return out


def engine(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Idling engine: firing pulses at 25-40 Hz with harmonics, low-passed, slightly unsteady."""
    t = np.arange(n) / sr
    rate = rng.uniform(25.0, 40.0) * (1.0 + 0.02 * np.sin(2 * np.pi * 0.3 * t))
    phase = np.cumsum(rate) / sr
    pulses = np.maximum(0.0, np.sin(2 * np.pi * phase)) ** 6
    return lowpass(pulses.astype(np.float32), sr, 400.0, order=4) + 0.1 * lowpass(pink_noise(n, rng), sr, 300.0)


def fan(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Fans, ventilation, tumbling dryers: broadband air noise with blade-rate (8-20 Hz) flutter."""
    t = np.arange(n) / sr
    air = bandpass(pink_noise(n, rng), sr, 150.0, 4000.0)
    return air * (1.0 + 0.25 * np.sin(2 * np.pi * rng.uniform(8.0, 20.0) * t))


def drips(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Dripping water: short pitched blips rising 1-2.5 kHz, ~3 per second, over a faint trickle."""

    def drop(r: np.random.Generator) -> np.ndarray:
        length = int(0.04 * sr)
        f0 = r.uniform(1000.0, 2500.0)
        freq = f0 * (1.0 + 0.6 * np.linspace(0.0, 1.0, length))
        return np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-np.arange(length) / (0.008 * sr))

    return _events(n, sr, rng, 3.0, drop) + 0.05 * bandpass(rng.standard_normal(n).astype(np.float32), sr, 800.0, 3000.0)


def creak(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Creaking wood or rope: stick-slip pulse trains (40-120 Hz) through a 300-1500 Hz resonance."""

    def one(r: np.random.Generator) -> np.ndarray:
        length = int(r.uniform(0.3, 0.9) * sr)
        rate = r.uniform(40.0, 120.0) * np.linspace(1.0, r.uniform(0.6, 1.5), length)
        pulses = (np.diff(np.floor(np.cumsum(rate) / sr), prepend=0.0) > 0).astype(np.float32)
        return bandpass(pulses, sr, 300.0, 1500.0) * np.hanning(length)

    return _events(n, sr, rng, 0.6, one) + 0.02 * lowpass(pink_noise(n, rng), sr, 800.0)


def flap(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Flags or canvas flapping: low-passed noise with fast irregular amplitude bursts (6-14 Hz)."""
    t = np.arange(n) / sr
    noise = lowpass(pink_noise(n, rng), sr, 1500.0)
    bursts = np.maximum(0.0, np.sin(2 * np.pi * rng.uniform(6.0, 14.0) * t + 2.0 * _slow(n, sr, rng, 1.0))) ** 2
    return noise * (0.2 + bursts) * (0.5 + _slow(n, sr, rng, 0.3))


def distant_music(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Music through a wall (jukebox, radio, a guitar next door): a playful bed low-passed at 1.2 kHz."""
    from generators.audio.music import music_bed
    from scenes import Mood

    bed = music_bed(Mood.playful, 0.5, n / sr, sr, int(rng.integers(0, 2**31)))
    return lowpass(bed, sr, 1200.0, order=4)


def typing(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Keyboards: bright 3 ms clicks at 4-9 per second."""

    def key(r: np.random.Generator) -> np.ndarray:
        length = int(0.003 * sr)
        return r.standard_normal(length) * np.exp(-np.arange(length) / (0.0008 * sr)) * r.uniform(0.5, 1.0)

    return highpass(_events(n, sr, rng, rng.uniform(4.0, 9.0), key).astype(np.float32), sr, 1500.0)


def beeps(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Monitors, pagers, distant phones: a 0.12 s tone (880-1760 Hz) repeating every 1-2 s."""
    out = np.zeros(n)
    freq = rng.choice([880.0, 1000.0, 1320.0, 1760.0])
    length = int(0.12 * sr)
    beep = np.sin(2 * np.pi * freq * np.arange(length) / sr) * np.hanning(length)
    period = int(rng.uniform(1.0, 2.0) * sr)
    for s in range(int(rng.uniform(0.0, 1.0) * sr), n - length, period):
        out[s : s + length] += beep
    return out + 0.01 * rng.standard_normal(n)


def siren(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A distant siren: a tone sweeping 600-1200 Hz with a 4-6 s period, band-limited."""
    t = np.arange(n) / sr
    freq = 900.0 + 300.0 * np.sin(2 * np.pi * t / rng.uniform(4.0, 6.0))
    tone = np.sin(2 * np.pi * np.cumsum(freq) / sr)
    return lowpass(tone.astype(np.float32), sr, 2500.0) + 0.05 * lowpass(pink_noise(n, rng), sr, 500.0)


def hiss(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Steady hiss (sizzling pan, steam, tape or tyre hiss): noise 2-9 kHz with slow level drift."""
    return highpass(rng.standard_normal(n).astype(np.float32), sr, 2000.0) * (0.7 + 0.3 * _slow(n, sr, rng, 0.5))


def clatter(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Cups, cutlery, chairs: sparse small knocks and clinks (inharmonic 2-5 kHz rings), ~1.5 per second."""

    def clink(r: np.random.Generator) -> np.ndarray:
        length = int(0.15 * sr)
        tt = np.arange(length) / sr
        f = r.uniform(2000.0, 5000.0)
        ring = (np.sin(2 * np.pi * f * tt) + 0.5 * np.sin(2 * np.pi * f * 2.7 * tt)) * np.exp(-tt * 40.0)
        knock = r.standard_normal(length) * np.exp(-tt * 200.0)
        return ring * r.uniform(0.2, 1.0) + knock

    return _events(n, sr, rng, 1.5, clink)


def footsteps(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Footsteps around: soft low-passed thumps about twice a second, in walking bursts."""

    def walk(r: np.random.Generator) -> np.ndarray:
        step = int(0.5 * sr)
        steps = int(r.integers(3, 9))
        out = np.zeros(step * steps)
        thump = r.standard_normal(int(0.08 * sr)) * np.exp(-np.arange(int(0.08 * sr)) / (0.015 * sr))
        for k in range(steps):
            out[k * step : k * step + len(thump)] += thump
        return out

    return lowpass(_events(n, sr, rng, 0.3, walk).astype(np.float32), sr, 1200.0) + 0.02 * lowpass(pink_noise(n, rng), sr, 800.0)


def livestock(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Cows or sheep: occasional 1-2 s harmonic calls (F0 100-250 Hz) with a vowel-like formant."""

    def call(r: np.random.Generator) -> np.ndarray:
        length = int(r.uniform(1.0, 2.0) * sr)
        f0 = r.uniform(100.0, 250.0) * (1.0 + 0.15 * np.sin(np.linspace(0.0, np.pi, length)))
        phase = np.cumsum(f0) / sr
        voiced = sum(np.sin(2 * np.pi * k * phase) / k for k in range(1, 10))
        return bandpass(voiced.astype(np.float32), sr, 200.0, 1200.0) * np.hanning(length)

    return _events(n, sr, rng, 0.25, call) + 0.02 * lowpass(pink_noise(n, rng), sr, 600.0)
