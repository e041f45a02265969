"""Character continuity: a character's clothes, hair or voice changing within a scene."""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.features import shot_spans
from diagnosers.probes.picture import _colour_bins

# Each part over its 95th percentile on the 88 clean fitting clips (procedural:clean 3000-3001), so the
# two read on one scale (decision 172): the new-colour share of a later shot, and the voice-change z².
LOOK_TYPICAL = 0.40
VOICE_TYPICAL = 14.1


@probe("continuity", ("ct.character_continuity_break",))
def continuity(media: ClipMedia) -> list[ModeScore]:
    """Look and voice of each character across the scene.

    The largest share of a later shot's body-region colours that appear in no earlier shot (clothes
    or hair that changed), or a voice that changes (`prosody.voice_change`: the z² of a character's
    pitch moving away from their earlier lines), whichever is stronger relative to its typical clean value.
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
                      detail={"look_new_colour_share": look, "voice_change_z2": v})]
