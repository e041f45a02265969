"""Procedural score: a music bed whose character follows the scene's mood.

Each mood has a `MusicStyle` (see `STYLES`). What a probe can measure, and where it comes from:

- **mode** (`major` / `minor` / `phrygian`): the pad, bass and arpeggio use only the mode's scale
  over tonic `tonic_midi`; chroma shows the tonic's major third (+4 semitones) for major moods
  and the minor third (+3) for minor ones. Valence > 0 moods are major, < 0 minor or phrygian.
  Progressions lean on the tonic (no relative-minor detours), so the Krumhansl key-profile
  correlation of the mean chroma (best major key minus best minor key) has the sign of the mood's
  valence for every mood: on 8-12 s beds +0.13 to +0.43 for major moods, -0.15 to -0.36 for minor
  ones (a bed shorter than one bar, ~4 s for slow moods, can read ambiguous).
- **tempo** (`bpm`): arpeggio notes and percussion fall on a grid of `bpm` beats per minute,
  so onset autocorrelation peaks at 60/bpm s; joyful/triumphant/angry are fast, sad/ominous slow.
- **brightness** (0..1): the harmonic roll-off of every note; bright moods have a higher spectral
  centroid (joyful ~> 1 kHz, ominous/sad a few hundred Hz).
- **density** (notes per beat of the arpeggio, scaled by intensity): sparse vs busy.
- **drone** and **dissonance**: tense/ominous/eerie/angry add a low sustained tonic with a tritone
  or minor second, which shows as steady energy below 120 Hz and a rough beating spectrum.
- **intensity** (0..1): RMS level of the bed is `-32 + 16 * intensity` dBFS, and density and
  percussion rise with it.

Deterministic per seed: the seed only picks arpeggio notes and tiny detunings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from generators.audio.dsp import db_to_gain, lowpass, pink_noise, resample, set_rms_dbfs
from scenes import Mood

SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
}


@dataclass(frozen=True)
class MusicStyle:
    mode: str
    bpm: float
    progression: tuple[int, ...]  # scale degrees (0 = tonic), one chord per bar
    brightness: float  # 0 dark (near sine) .. 1 bright (saw-like)
    density: float  # arpeggio notes per beat at intensity 1
    tonic_midi: int = 57  # A3
    drone: bool = False
    dissonance: int = 0  # semitones above the drone root added to it (6 tritone, 1 minor second), 0 none
    percussion: bool = False
    staccato: bool = False


STYLES: dict[Mood, MusicStyle] = {
    Mood.neutral: MusicStyle("major", 92, (0, 4, 3, 0), 0.5, 1.0),
    Mood.calm: MusicStyle("major", 68, (0, 3, 0, 4), 0.3, 0.5),
    Mood.warm: MusicStyle("major", 80, (0, 3, 0, 4), 0.45, 1.0, tonic_midi=55),
    Mood.joyful: MusicStyle("major", 128, (0, 4, 5, 3), 0.9, 2.0, tonic_midi=60, percussion=True),
    Mood.playful: MusicStyle("major", 116, (0, 3, 4, 0), 0.8, 2.0, tonic_midi=62, percussion=True, staccato=True),
    Mood.romantic: MusicStyle("major", 72, (0, 3, 4, 0), 0.5, 1.0),
    Mood.hopeful: MusicStyle("major", 96, (3, 0, 4, 0), 0.65, 1.0, tonic_midi=60),
    Mood.triumphant: MusicStyle("major", 120, (0, 3, 4, 0), 0.85, 2.0, percussion=True),
    Mood.tense: MusicStyle("phrygian", 104, (0, 0, 1, 3), 0.35, 2.0, tonic_midi=52, drone=True, dissonance=1, percussion=True),
    Mood.ominous: MusicStyle("phrygian", 58, (0, 0, 1, 0), 0.2, 0.5, tonic_midi=45, drone=True, dissonance=6),
    Mood.eerie: MusicStyle("minor", 54, (0, 5, 0, 1), 0.4, 0.5, tonic_midi=64, drone=True, dissonance=6),
    Mood.sad: MusicStyle("minor", 64, (0, 5, 3, 4), 0.25, 0.5, tonic_midi=55),
    Mood.melancholic: MusicStyle("minor", 74, (0, 3, 5, 4), 0.35, 1.0),
    Mood.angry: MusicStyle("minor", 140, (0, 5, 6, 0), 0.75, 2.0, tonic_midi=45, drone=True, dissonance=1, percussion=True),
}


def midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


TABLE_SIZE = 4096
SYNTH_RATE = 24000  # beds are synthesized at most at this rate, then resampled (content stays < 12 kHz)


@lru_cache(maxsize=256)
def _wavetable(harmonics: int, power: float) -> np.ndarray:
    """One period of sum_k sin(2 pi k x) / k^power, k = 1..harmonics."""
    x = np.arange(TABLE_SIZE) / TABLE_SIZE
    k = np.arange(1, harmonics + 1)[:, None]
    return (np.sin(2 * np.pi * k * x) / k**power).sum(axis=0)


def _tone(freq: float, n: int, sample_rate: int, brightness: float, attack_s: float, release_s: float) -> np.ndarray:
    """One note: harmonics rolled off as 1/k^p (p from 3 dark to 1 bright), band-limited, AR envelope."""
    power = round(3.0 - 2.0 * brightness, 2)
    harmonics = int(max(1, min(12, (sample_rate * 0.45) // freq)))
    phase = (np.arange(n) * (freq * TABLE_SIZE / sample_rate)).astype(np.int64) & (TABLE_SIZE - 1)
    out = _wavetable(harmonics, power)[phase]
    a = min(n, max(1, int(attack_s * sample_rate)))
    r = min(n - a, max(1, int(release_s * sample_rate)))
    out[:a] *= np.linspace(0.0, 1.0, a)
    if r > 0:
        out[n - r :] *= np.linspace(1.0, 0.0, r) ** 2
    return out


def _chord(style: MusicStyle, degree: int) -> list[int]:
    """Triad on a scale degree, as MIDI notes, stacked in thirds within the mode."""
    scale = SCALES[style.mode]
    notes = []
    for step in (0, 2, 4):
        d = degree + step
        notes.append(style.tonic_midi + scale[d % 7] + 12 * (d // 7))
    return notes


def _add(out: np.ndarray, start: int, sound: np.ndarray, gain: float) -> None:
    end = min(len(out), start + len(sound))
    if end > start:
        out[start:end] += sound[: end - start] * gain


def music_bed(mood: Mood, intensity: float, duration_s: float, sample_rate: int, seed: int) -> np.ndarray:
    """Music for a mood: float32 mono, `duration_s` long, RMS -32 + 16 * intensity dBFS."""
    mood = Mood(mood)
    if not 0.0 <= intensity <= 1.0:
        raise ValueError(f"music_bed: intensity must be in [0, 1], got {intensity}")
    if duration_s <= 0:
        raise ValueError(f"music_bed: duration_s must be positive, got {duration_s}")
    if sample_rate < 8000:
        raise ValueError(f"music_bed: sample_rate must be at least 8000, got {sample_rate}")
    # a render and its re-renders (other presets, same seed) ask for the same bed: compute it once
    return _music_bed(mood, float(intensity), float(duration_s), int(sample_rate), int(seed)).copy()


@lru_cache(maxsize=8)
def _music_bed(mood: Mood, intensity: float, duration_s: float, sample_rate: int, seed: int) -> np.ndarray:
    n_out = int(round(duration_s * sample_rate))
    synth_rate = min(sample_rate, SYNTH_RATE)
    bed = _synthesize(mood, intensity, duration_s, synth_rate, seed)
    if synth_rate != sample_rate:
        bed = resample(bed, synth_rate, sample_rate)
    bed = np.pad(bed, (0, max(0, n_out - len(bed))))[:n_out]
    bed = set_rms_dbfs(bed.astype(np.float32), -32.0 + 16.0 * intensity)
    peak = float(np.max(np.abs(bed))) if n_out else 0.0
    if peak > db_to_gain(-1.0):
        bed = bed * (db_to_gain(-1.0) / peak)
    bed = bed.astype(np.float32)
    bed.setflags(write=False)
    return bed


def _synthesize(mood: Mood, intensity: float, duration_s: float, sample_rate: int, seed: int) -> np.ndarray:
    style = STYLES[mood]
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sample_rate))
    out = np.zeros(n + sample_rate)  # a second of room for the last release
    beat = 60.0 / style.bpm
    bar = 4 * beat
    bar_n = int(bar * sample_rate)
    n_bars = int(np.ceil(duration_s / bar)) + 1
    density = max(0.25, style.density * (0.5 + intensity))
    step = beat / max(1, int(round(density))) if density >= 1 else beat / density
    step_n = int(step * sample_rate)
    note_len = step * (0.35 if style.staccato else 0.9)

    for b in range(n_bars):
        chord = _chord(style, style.progression[b % len(style.progression)])
        start = b * bar_n
        # pad: the chord held through the bar, soft attack
        for note in chord:
            detune = rng.normal(0.0, 0.03)
            _add(out, start, _tone(midi_hz(note + detune), bar_n + bar_n // 4, sample_rate, style.brightness * 0.6, bar * 0.25, bar * 0.3), 0.22)
        # bass: chord root an octave down on beats 1 and 3
        for beat_index in (0, 2):
            _add(out, start + int(beat_index * beat * sample_rate),
                 _tone(midi_hz(chord[0] - 12), int(beat * 1.6 * sample_rate), sample_rate, style.brightness * 0.5, 0.01, beat * 0.6), 0.35)  # fmt: skip
        # arpeggio: chord tones an octave up on the tempo grid
        for k in range(int(round(bar / step))):
            note = chord[rng.integers(0, 3)] + 12
            _add(out, start + k * step_n, _tone(midi_hz(note), int(note_len * sample_rate), sample_rate, style.brightness, 0.004, note_len * 0.5), 0.16)
        if style.percussion and intensity >= 0.15:
            for beat_index in range(4):
                _add(out, start + int(beat_index * beat * sample_rate), _kick(sample_rate), 0.5 * (0.5 + intensity))
                if style.brightness > 0.6:
                    _add(out, start + int((beat_index + 0.5) * beat * sample_rate), _hat(sample_rate, rng), 0.12)

    out = out[:n]
    if style.drone:
        t = np.arange(n) / sample_rate
        root = midi_hz(style.tonic_midi - 24)
        drone = np.sin(2 * np.pi * root * t) + 0.5 * np.sin(2 * np.pi * 2 * root * t)
        if style.dissonance:
            drone += 0.45 * np.sin(2 * np.pi * midi_hz(style.tonic_midi - 24 + style.dissonance) * t)
        drone *= 0.8 + 0.2 * np.sin(2 * np.pi * 0.23 * t)  # slow swell
        out += 0.3 * drone
    # a breath of room noise keeps the bed from sounding like a test tone
    out += 0.004 * lowpass(pink_noise(n, rng), sample_rate, 3000.0)
    return out


def _kick(sample_rate: int) -> np.ndarray:
    n = int(0.18 * sample_rate)
    t = np.arange(n) / sample_rate
    freq = 50.0 + 90.0 * np.exp(-t * 30.0)
    return np.sin(2 * np.pi * np.cumsum(freq) / sample_rate) * np.exp(-t * 22.0)


def _hat(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    n = int(0.05 * sample_rate)
    t = np.arange(n) / sample_rate
    noise = np.diff(rng.standard_normal(n + 1))  # differencing tilts the noise bright
    return noise * np.exp(-t * 90.0) * 0.5
