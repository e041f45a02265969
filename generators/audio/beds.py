"""Audio beds for a scene: mood music, keyword ambience, scripted sound cues.

The synthesis lives in `music.py`, `ambience.py` and `cues.py`; their docstrings list the measurable
properties (mode, tempo, brightness, level, onsets) that probes can rely on.
"""

from generators.audio.ambience import (
    AMBIENCE_DBFS,
    LAYERS,
    ROOM_TONE_DBFS,
    ambience_bed,
    ambience_layers,
)
from generators.audio.cues import CUE_KINDS, CUE_PEAK_DBFS, cue_kind, sound_cue
from generators.audio.music import STYLES, MusicStyle, music_bed

__all__ = [
    "AMBIENCE_DBFS",
    "CUE_KINDS",
    "CUE_PEAK_DBFS",
    "LAYERS",
    "ROOM_TONE_DBFS",
    "STYLES",
    "MusicStyle",
    "ambience_bed",
    "ambience_layers",
    "cue_kind",
    "music_bed",
    "sound_cue",
]
