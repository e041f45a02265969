"""Set changes between shots: colour that persists on one side of a cut and is absent on the other.

Used by the `grading` probe for `ec.scene_consistency_drift` (decisions 093, 106, 160).
"""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.features import frames_in, shot_spans

# Colour histograms (hue x saturation x value bins, OpenCV HSV) per kind of set (decision 160).
# Indoors a set change repaints walls that fill most of the frame: the whole frame, value in 5-6
# levels (a changed wall or a darker floor moves a whole level; the old 3 levels hid most floors),
# averaged over four binnings so that no one bin edge decides (sparse seeds 0-5, interiors: AUC
# 0.88 with (12, 3, 3); 0.92-0.94 for each of these, 0.94 for their mean). Outdoors the sky does
# not change with the set; the ground and what stands on it do, so the lower half with value in
# 16 levels and coarse hue (exteriors: AUC 0.70 with the interior recipe, 0.96 with this one; 12-16
# levels and 4-8 hues all read 0.95-0.96).
INTERIOR_BINS = ((12, 3, 6), (12, 3, 5), (10, 3, 6), (14, 3, 6))
EXTERIOR_BINS = ((6, 2, 16),)
# Colour that moves inside shots does not count as a set change, by this many times its movement
# extrapolated over the clip (decision 106: sparse seeds 0-2, AUC 0.78 -> 0.80 / 0.81 / 0.82 for
# 0.25 / 0.5 / 1; with the binnings above 0.5 / 1 / 2 read 0.951 / 0.951 / 0.930 on seeds 0-5).
INSIDE_SHOT_WEIGHT = 1.0


def shot_colour_frames(media: ClipMedia) -> list[dict]:
    """Per detected shot, three frames at 1/4, 1/2 and 3/4 of the shot (0.2 s clear of the cuts), in
    HSV at half the decode size: `hsv` (3, h, w, 3) uint8, `dt` (seconds from the first to the last
    of them), `length` (the shot's seconds)."""

    def compute(m: ClipMedia) -> list[dict]:
        import cv2

        out = []
        for span in shot_spans(m):
            idx = frames_in(m, span, margin=0.2)
            pick = [idx[len(idx) // 4], idx[len(idx) // 2], idx[(3 * len(idx)) // 4]]
            hsv = np.stack([cv2.cvtColor(np.ascontiguousarray(m.frames[i][::2, ::2]), cv2.COLOR_RGB2HSV) for i in pick])
            out.append({"hsv": hsv, "dt": float(m.frame_times[pick[2]] - m.frame_times[pick[0]]),
                        "length": float(span.end - span.start)})
        return out

    return media.feature("grade:shot_colour_frames", compute)


def _hist(hsv: np.ndarray, bins: tuple[int, int, int]) -> np.ndarray:
    import cv2

    h = cv2.calcHist([np.ascontiguousarray(hsv)], [0, 1, 2], None, list(bins), [0, 180, 0, 256, 0, 256]).reshape(-1)
    return h / (h.sum() + 1e-9)


def shot_colour_hists(media: ClipMedia, bins: tuple[int, int, int] = INTERIOR_BINS[0],
                      lower_half: bool = False) -> list[np.ndarray]:
    """Per detected shot, the HSV histograms of its three frames, (3, bins) each summing to 1."""
    out = []
    for s in shot_colour_frames(media):
        frames = s["hsv"][:, s["hsv"].shape[1] // 2:] if lower_half else s["hsv"]
        out.append(np.stack([_hist(f, bins) for f in frames]))
    return out


def inside_shot_movement(media: ClipMedia, hists: list[np.ndarray]) -> np.ndarray:
    """Per colour bin, |Σ_shots (3/4 − 1/4 frame's share) × shot length / their distance in time|:
    how far a colour drifts over the clip judged from inside the shots only (a mood drift moves
    colours inside every shot; a changed set keeps its colours inside each shot)."""
    move = np.zeros(hists[0].shape[1])
    for h, s in zip(hists, shot_colour_frames(media), strict=True):
        if s["dt"] > 0.3:
            move += (h[2] - h[0]) * (s["length"] / s["dt"])
    return np.abs(move)


def persistent_change(hists: list[np.ndarray], allow: np.ndarray) -> np.ndarray:
    """For each cut d (before shot d, d >= 1): Σ_bins max(0, min over shots before − max over shots
    after − allow) plus the same the other way round (index 0 unused, 0)."""
    h = np.stack([x.mean(0) for x in hists])
    out = np.zeros(len(h))
    for d in range(1, len(h)):
        gone = np.maximum(0.0, h[:d].min(0) - h[d:].max(0) - allow)
        new = np.maximum(0.0, h[d:].min(0) - h[:d].max(0) - allow)
        out[d] = float(gone.sum() + new.sum())
    return out


def backdrop_change(media: ClipMedia) -> tuple[float, list[tuple[float, float, float]]]:
    """Colour mass that persists on one side of a cut and is absent on the other (best cut).

    For a cut before shot d, per colour bin: max(0, min over shots before − max over shots after)
    and the same the other way round (colour every later shot has and no earlier one), each less
    `INSIDE_SHOT_WEIGHT` × the bin's movement inside shots (`inside_shot_movement`), summed over
    bins, averaged over the binnings of the scripted kind of set (`INTERIOR_BINS` on the whole
    frame, `EXTERIOR_BINS` on its lower half). Colours of the figures and of the framing change
    from shot to shot, so they rarely pass a min over a side; a repainted wall or a darker floor
    is in every shot from its cut on and still inside each shot, whereas a grade drifting over the
    scene (mood drift) moves the same colours inside the shots too. The window runs from that cut
    to the end of the clip (a changed set stays changed).
    """
    spans = shot_spans(media)
    if len(spans) < 2:
        return 0.0, []
    interior = media.scene is None or media.scene.setting.interior
    binnings = INTERIOR_BINS if interior else EXTERIOR_BINS
    per_cut = np.zeros(len(spans))
    for bins in binnings:
        hists = shot_colour_hists(media, bins, lower_half=not interior)
        per_cut += persistent_change(hists, INSIDE_SHOT_WEIGHT * inside_shot_movement(media, hists)) / len(binnings)
    at = int(np.argmax(per_cut))
    best = float(per_cut[at])
    if best <= 0.0:
        return 0.0, []
    return best, [(spans[at].start, media.duration_s, best)]
