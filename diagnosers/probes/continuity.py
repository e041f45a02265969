"""Character continuity: a character's clothes, hair or voice changing within a scene."""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.features import shot_spans
from diagnosers.probes.picture import _colour_bins

LOOK_TYPICAL = 0.05  # new-colour share of a clean later shot (set from clean clips, see docs/probes.md)
VOICE_TYPICAL = 0.3  # 1 - lowest same-speaker similarity on clean clips


@probe("continuity", ("ct.character_continuity_break",))
def continuity(media: ClipMedia) -> list[ModeScore]:
    """Look and voice of each character across the scene.

    The largest share of a later shot's body-region colours that appear in no earlier shot (clothes
    or hair that changed), or a voice that changes (1 − lowest same-speaker embedding similarity),
    whichever is stronger relative to its typical clean value.
    """
    spans = shot_spans(media)
    frames = [media.frames[media.frame_index(s.mid)] for s in spans]
    bins = [_colour_bins(f) for f in frames]
    look, wl = 0.0, []
    for k in range(1, len(bins)):
        seen = np.max(np.stack(bins[:k]), axis=0)
        new_mass = float(bins[k][seen < 0.002].sum())
        if new_mass > look:
            look, wl = new_mass, [(spans[k].start, media.duration_s, new_mass)]
    from diagnosers.probes.voice import voices

    voice = next(s for s in voices.measure(media) if s.mode == "ct.character_continuity_break")
    v = voice.score if voice.score is not None else 0.0
    combined = max(look / LOOK_TYPICAL, v / VOICE_TYPICAL)
    windows = wl if look / LOOK_TYPICAL >= v / VOICE_TYPICAL else voice.windows
    return [ModeScore("ct.character_continuity_break", combined, windows=[(a, b, combined) for a, b, _ in windows],
                      detail={"look_new_colour_share": look, "voice_dissimilarity": v})]
