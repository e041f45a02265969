"""Mix named tracks (speech stems, music, ambience, cues) into one mono track with pydub.

Each track becomes a 32-bit pydub `AudioSegment` with 24 dB of headroom, gets its gain, and is
overlaid on a silent base as long as the longest track; the sum goes through a look-ahead peak
limiter (ceiling -1 dBFS), so the mix never clips however hot the gains are. With `stems_dir`
each track is also written, after its gain, as `<name>.wav` (16-bit PCM at `sample_rate`), so a
clip's speech per speaker, music and ambience can be inspected or re-mixed later.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from pydub import AudioSegment
from scipy.ndimage import minimum_filter1d, uniform_filter1d

from generators.audio.dsp import db_to_gain

LIMITER_CEILING_DBFS = -1.0
LIMITER_LOOKAHEAD_S = 0.005
HEADROOM = 1.0 / 16.0  # 24 dB below int32 full scale, so overlays of many loud tracks never wrap
STEM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _segment(samples: np.ndarray, sample_rate: int) -> AudioSegment:
    data = np.clip(samples.astype(np.float64) * HEADROOM, -1.0, 1.0) * (2**31 - 1)
    return AudioSegment(data.astype("<i4").tobytes(), frame_rate=sample_rate, sample_width=4, channels=1)


def _samples(segment: AudioSegment) -> np.ndarray:
    data = np.frombuffer(segment.raw_data, dtype="<i4").astype(np.float64)
    return (data / (2**31 - 1) / HEADROOM).astype(np.float32)


def limit(samples: np.ndarray, sample_rate: int, ceiling_dbfs: float = LIMITER_CEILING_DBFS) -> np.ndarray:
    """Look-ahead peak limiter: gain never lets a sample exceed the ceiling, and moves smoothly."""
    x = np.asarray(samples, dtype=np.float64)
    ceiling = db_to_gain(ceiling_dbfs)
    if not len(x) or np.max(np.abs(x)) <= ceiling:
        return x.astype(np.float32)
    half = max(1, int(LIMITER_LOOKAHEAD_S * sample_rate))
    needed = np.minimum(1.0, ceiling / np.maximum(np.abs(x), 1e-12))
    # min over ±half then mean over ±half/2: every averaged value is <= the gain each sample needs
    gain = uniform_filter1d(minimum_filter1d(needed, size=2 * half + 1, mode="nearest"), size=half + 1, mode="nearest")
    return np.clip(x * gain, -ceiling, ceiling).astype(np.float32)


def mix_tracks(
    tracks: dict[str, np.ndarray],
    sample_rate: int,
    gains_db: dict[str, float] | None = None,
    stems_dir: Path | None = None,
) -> np.ndarray:
    """Sum mono float tracks (padded to the longest) with per-track gains; float32 mix, peaks <= -1 dBFS."""
    if sample_rate <= 0:
        raise ValueError(f"mix_tracks: sample_rate must be positive, got {sample_rate}")
    gains_db = dict(gains_db or {})
    unknown = sorted(set(gains_db) - set(tracks))
    if unknown:
        raise ValueError(f"mix_tracks: gains_db names tracks that do not exist: {unknown} (tracks: {sorted(tracks)})")
    prepared: dict[str, np.ndarray] = {}
    for name, track in tracks.items():
        if not STEM_NAME.match(name):
            raise ValueError(f"mix_tracks: track name {name!r} is not usable as a file name")
        array = np.asarray(track, dtype=np.float32)
        if array.ndim != 1:
            raise ValueError(f"mix_tracks: track {name!r} must be mono (1-D), got shape {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"mix_tracks: track {name!r} contains NaN or infinite samples")
        prepared[name] = array
    length = max((len(a) for a in prepared.values()), default=0)
    if length == 0:
        return np.zeros(0, dtype=np.float32)
    if stems_dir is not None:
        Path(stems_dir).mkdir(parents=True, exist_ok=True)
    mix = AudioSegment(b"\0" * (4 * length), frame_rate=sample_rate, sample_width=4, channels=1)
    for name, array in prepared.items():
        segment = _segment(array, sample_rate).apply_gain(gains_db.get(name, 0.0))
        mix = mix.overlay(segment)
        if stems_dir is not None:
            _write_stem(Path(stems_dir) / f"{name}.wav", _samples(segment), sample_rate)
    return limit(_samples(mix), sample_rate)


def _write_stem(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """16-bit WAV via pydub, written to a temporary name then renamed (atomic)."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    tmp = path.with_name(path.name + ".tmp")
    AudioSegment(pcm.tobytes(), frame_rate=sample_rate, sample_width=2, channels=1).export(tmp, format="wav")
    tmp.replace(path)
