"""Scripted sound effects by keyword ("plate smash", "door slam", "phone rings", "dog barks").

Every cue starts at sample 0 with a sharp onset: the level jumps from silence to within 6 dB of the
cue's peak inside the first 10 ms, so a probe can place the cue by onset detection (the renderer
puts sample 0 at the cue's scripted time). Peak level is -3 dBFS before mixing. Kinds (`CUE_KINDS`):

- impact (slam, smash, crash, door, knock, bang, thud, punch, drop, gunshot): a broadband noise
  burst with fast exponential decay over a low thump (60-120 Hz pitch drop); knocks repeat 3 times
  0.18 s apart; gunshots have a long noisy tail;
- glass (glass, shatter, smash of plates): impact plus bright inharmonic tinkles 3-8 kHz;
- bell / phone / doorbell / horn / whistle / alarm / buzz: tonal, steady partials (bell:
  inharmonic 1, 2.76, 5.4 ratio; phone: 440+480 Hz ringing at 20 Hz for 1 s; doorbell: two bell
  strikes a major third apart; horn: 400+500 Hz buzz for 0.6 s; whistle: 3 kHz trilled at 25 Hz
  for 0.8 s; alarm: 3.1 kHz beeps, 4 of 0.15 s; buzz: 150 Hz buzzing pulses for 0.8 s);
- click: a 4 ms bright transient (switches); hiss: a 0.8 s burst of noise above 2 kHz with
  crackles (brakes, steam, static); metal: impact plus inharmonic ringing partials 500-4000 Hz
  (clang, clink, trays, pans, lockers, gates);
- applause: many random claps (noise bursts 1-4 kHz) for 1.5 s;
- thunder: a crack then a low rumble lasting ~2.5 s;
- footsteps: 4 soft thumps 0.5 s apart;
- bark: 2 harmonic barks (F0 ~ 500 Hz with formant noise) 0.35 s apart;
- unknown words: a generic short thud (impact kind).
"""

from __future__ import annotations

import re

import numpy as np

from generators.audio.dsp import bandpass, db_to_gain, lowpass

CUE_PEAK_DBFS = -3.0

# kind -> regexes matched at a word start; first match wins, so specific kinds come first
CUE_KINDS: dict[str, tuple[str, ...]] = {
    "gunshot": ("gun", r"shots?\b", "pistol", "rifle"),
    "glass": ("glass", "shatter", "plate", "dish", "window break"),
    "knock": ("knock",),
    "doorbell": ("doorbell", "door bell"),
    "applause": ("applau", "clap", "cheer"),
    "buzz": ("buzz", "vibrat"),
    "phone": ("phone", r"ring(s|ing)?\b", "telephone", "cellphone"),
    "bell": ("bell", "chime", "ding"),
    "horn": ("horn", "honk", "train whistle", "foghorn"),
    "whistle": ("whistle",),
    "alarm": ("alarm", "siren", "beep"),
    "thunder": ("thunder", "lightning"),
    "footsteps": ("footstep", "step", "walk", "running"),
    "bark": ("bark", "dog", "woof"),
    "click": ("click", "switch"),
    "hiss": ("hiss", "brake", "steam", "static", "crackl", "spray"),
    "metal": ("clang", "clink", "metal", "iron", "locker", r"tray\b", r"pans?\b", "cymbal", "trash can", "gate", "bin lid"),
    "impact": ("slam", "smash", "crash", "door", "bang", "thud", "punch", "hit", "drop", "fall", "kick", "slap", "snap"),
}


def cue_kind(cue: str) -> str:
    """Which kind of sound a cue text selects ("impact" when nothing matches)."""
    text = cue.lower()
    for kind, patterns in CUE_KINDS.items():
        if any(re.search(rf"\b{p}", text) for p in patterns):
            return kind
    return "impact"


def _t(seconds: float, sr: int) -> np.ndarray:
    return np.arange(int(seconds * sr)) / sr


def _impact(sr: int, rng: np.random.Generator, length: float = 0.6, decay: float = 18.0) -> np.ndarray:
    t = _t(length, sr)
    noise = rng.standard_normal(len(t)) * np.exp(-t * decay)
    thump_freq = 60.0 + 60.0 * np.exp(-t * 25.0)
    thump = np.sin(2 * np.pi * np.cumsum(thump_freq) / sr) * np.exp(-t * 12.0)
    return 0.6 * noise + thump


def _glass(sr: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(int(1.2 * sr))
    out[: int(0.6 * sr)] += 0.6 * _impact(sr, rng)
    for _ in range(25):
        start = int(rng.exponential(0.12) * sr)
        t = _t(rng.uniform(0.05, 0.3), sr)
        tinkle = np.sin(2 * np.pi * rng.uniform(3000, 8000) * t) * np.exp(-t * rng.uniform(15, 40))
        end = min(len(out), start + len(t))
        out[start:end] += 0.5 * tinkle[: end - start]
    out[: int(0.3 * sr)] += bandpass(rng.standard_normal(int(0.3 * sr)).astype(np.float32), sr, 2000, 9000) * np.exp(-_t(0.3, sr) * 12)
    return out


def _repeat(sound: np.ndarray, times: int, gap_s: float, sr: int, decay: float = 0.85) -> np.ndarray:
    step = int(gap_s * sr)
    out = np.zeros(step * (times - 1) + len(sound))
    for k in range(times):
        out[k * step : k * step + len(sound)] += sound * decay**k
    return out


def _bell(sr: int, freq: float = 880.0, length: float = 1.5) -> np.ndarray:
    t = _t(length, sr)
    partials = ((1.0, 1.0, 2.0), (2.76, 0.5, 3.5), (5.4, 0.25, 6.0))
    return sum(a * np.sin(2 * np.pi * freq * r * t) * np.exp(-t * d) for r, a, d in partials)


def _phone(sr: int) -> np.ndarray:
    t = _t(1.0, sr)
    tone = np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 480 * t)
    return tone * (np.sin(2 * np.pi * 20 * t) > -0.3)


def _horn(sr: int) -> np.ndarray:
    t = _t(0.6, sr)
    buzz = np.sign(np.sin(2 * np.pi * 400 * t)) + np.sign(np.sin(2 * np.pi * 500 * t))
    return lowpass(buzz.astype(np.float32), sr, 3000.0) * np.minimum(1.0, (0.6 - t) / 0.03)


def _applause(sr: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(int(1.5 * sr))
    clap = bandpass(rng.standard_normal(int(0.02 * sr)).astype(np.float32), sr, 1000, 4000) * np.exp(-_t(0.02, sr) * 200)
    out[: len(clap)] += 2.0 * clap  # the first clap marks the onset
    for start in rng.integers(0, len(out) - len(clap), size=150):
        out[start : start + len(clap)] += clap * rng.uniform(0.3, 1.0)
    return out * np.minimum(1.0, (1.5 - _t(1.5, sr)) / 0.4)


def _thunder(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(2.5, sr)
    crack = 2.5 * rng.standard_normal(len(t)) * np.exp(-t * 25.0)
    rumble = lowpass(rng.standard_normal(len(t)).astype(np.float32), sr, 150.0, order=4) * 12.0
    return crack + rumble * np.exp(-t * 1.2) * (0.6 + 0.4 * np.sin(2 * np.pi * 1.3 * t))


def _step(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(0.12, sr)
    return lowpass(rng.standard_normal(len(t)).astype(np.float32), sr, 900.0) * np.exp(-t * 40.0) * 3.0


def _bark(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(0.22, sr)
    f0 = 500.0 * (1.0 + 0.3 * np.exp(-t * 20))
    voiced = sum(np.sin(2 * np.pi * k * np.cumsum(f0) / sr) / k for k in range(1, 8))
    growl = bandpass(rng.standard_normal(len(t)).astype(np.float32), sr, 800, 2500)
    env = np.exp(-t * 12.0)
    return _repeat((voiced + 0.5 * growl) * env, 2, 0.35, sr, 0.9)


def sound_cue(cue: str, sample_rate: int, seed: int) -> np.ndarray:
    """A short effect for a cue text, onset at sample 0, peak -3 dBFS (float32 mono)."""
    if not cue or not cue.strip():
        raise ValueError("sound_cue: empty cue text")
    rng = np.random.default_rng(seed)
    sr = sample_rate
    kind = cue_kind(cue)
    if kind == "gunshot":
        sound = _impact(sr, rng, length=1.2, decay=9.0) + 0.4 * rng.standard_normal(int(1.2 * sr)) * np.exp(-_t(1.2, sr) * 4.0)
    elif kind == "glass":
        sound = _glass(sr, rng)
    elif kind == "knock":
        sound = _repeat(_impact(sr, rng, length=0.12, decay=60.0), 3, 0.18, sr)
    elif kind == "doorbell":
        sound = _overlay(_bell(sr, 659.25, 1.0), _bell(sr, 523.25, 1.2), int(0.5 * sr))  # ding-dong
    elif kind == "phone":
        sound = _phone(sr)
    elif kind == "bell":
        sound = _bell(sr)
    elif kind == "horn":
        sound = _horn(sr)
    elif kind == "whistle":
        t = _t(0.8, sr)
        sound = np.sin(2 * np.pi * (3000.0 + 150.0 * np.sign(np.sin(2 * np.pi * 25.0 * t))) * t) * np.minimum(1.0, (0.8 - t) / 0.05)
    elif kind == "alarm":
        beep = np.sin(2 * np.pi * 3100.0 * _t(0.15, sr))
        sound = _repeat(beep, 4, 0.3, sr, 1.0)
    elif kind == "buzz":
        t = _t(0.8, sr)
        sound = lowpass(np.sign(np.sin(2 * np.pi * 150.0 * t)).astype(np.float32), sr, 2000.0) * (np.sin(2 * np.pi * 4.0 * t) > -0.5)
    elif kind == "click":
        t = _t(0.004, sr)
        sound = np.concatenate([rng.standard_normal(len(t)) * np.exp(-t * 1500.0), np.zeros(int(0.15 * sr))])
    elif kind == "hiss":
        t = _t(0.8, sr)
        noise = np.asarray(bandpass(rng.standard_normal(len(t)).astype(np.float32), sr, 2000.0, 9000.0), dtype=np.float64)
        crackle = np.zeros(len(t))
        crackle[rng.integers(0, len(t), size=20)] = rng.uniform(2.0, 5.0, size=20)
        sound = (noise + crackle) * np.exp(-t * 2.0)
    elif kind == "metal":
        t = _t(1.0, sr)
        partials = rng.uniform(500.0, 4000.0, size=5)
        ring = sum(np.sin(2 * np.pi * f * t) * np.exp(-t * rng.uniform(3.0, 8.0)) for f in partials)
        sound = _overlay(0.8 * _impact(sr, rng, length=0.3, decay=40.0), 0.6 * ring, 0)
    elif kind == "applause":
        sound = _applause(sr, rng)
    elif kind == "thunder":
        sound = _thunder(sr, rng)
    elif kind == "footsteps":
        sound = _repeat(_step(sr, rng), 4, 0.5, sr, 0.95)
    elif kind == "bark":
        sound = _bark(sr, rng)
    else:
        sound = _impact(sr, rng)
    sound = np.asarray(sound, dtype=np.float64)
    ramp = max(1, int(0.001 * sr))  # 1 ms ramp: sharp onset without a click at sample 0
    sound[:ramp] *= np.linspace(0.0, 1.0, ramp)
    sound = sound * (db_to_gain(CUE_PEAK_DBFS) / (np.max(np.abs(sound)) + 1e-12))
    return sound.astype(np.float32)


def _overlay(base: np.ndarray, sound: np.ndarray, at: int) -> np.ndarray:
    out = np.zeros(max(len(base), at + len(sound)))
    out[: len(base)] += base
    out[at : at + len(sound)] += sound
    return out
