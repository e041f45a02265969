"""Set changes between shots: background colour that every shot on one side of a cut shows, in every
frame, and no frame on the other side does.

Used by the `grading` probe for `ec.scene_consistency_drift` (decisions 093, 106, 160, 204).
"""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.features import frames_in, shot_spans

# Colour histograms (hue x saturation x value bins, OpenCV HSV) per kind of set (decision 160).
# Indoors a set change repaints walls: value in 5-6 levels (a changed wall or a darker floor moves a
# whole level), averaged over four binnings so that no one bin edge decides. Outdoors the sky does
# not change with the set; the ground and what stands on it do: the lower half, coarse hue, value in
# 16 levels (exteriors of sparse seeds 0-5: AUC 0.70 with the interior recipe, 0.96 with this one).
INTERIOR_BINS = ((12, 3, 6), (12, 3, 5), (10, 3, 6), (14, 3, 6))
EXTERIOR_BINS = ((6, 2, 16),)
# Figures below are sparse seeds 0-5 (fit AUC / fit balanced accuracy with the cut capped by clean
# seeds 3000-3001), each with the other choices as they are here (decision 204).
# Indoors only the frame's top fifth and its left and right fifths are read: the wall shows there in
# every framing, while the figures fill the middle (interiors' AUC 0.968 on the whole frame, 0.983
# on this border, 0.984 on the frame less its lower middle three fifths).
BORDER_SHARE = 0.2
# Colour that one side gains and the other loses is a repaint; one side only is more often framing:
# a cut scores lost + gained + BOTH_WAYS x the smaller of the two (0 -> 2 on the old recipe, half-size
# frames at the quartiles: interiors' AUC 0.955 -> 0.964, exteriors' 0.959 -> 0.968; here 0 / 1 / 2 / 4
# read 0.976 / 0.977 / 0.975 / 0.969 overall, BA 0.950 / 0.950 / 0.939 / 0.917; kept at 2, decision 204).
BOTH_WAYS = 2.0
# A side of one shot (an establishing wide shot first, an over-the-shoulder last) differs from the
# rest by its framing alone often enough that its cut counts this share: the clean clips' top scores
# were all such cuts (AUC / BA 0.965 / 0.890, 0.973 / 0.922, 0.975 / 0.939, 0.976 / 0.950 for
# 1, 0.7, 0.5, 0.35; 0.5 was the best on the half-size quartile frames, 0.979 / 0.918, and kept).
SINGLE_SHOT_SIDE = 0.5
# Frames are read at a quarter of the decode size (80 x 45 at 320 x 180): a wall is large, and the
# histograms cost a quarter (at a quarter with frames at the quartiles instead: 0.981 / 0.923).
STEP = 4


def shot_colour_frames(media: ClipMedia) -> list[np.ndarray]:
    """Per detected shot, its first, middle and last frame 0.2 s clear of the cuts, in HSV at a
    quarter of the decode size: (3, h, w, 3) uint8. The first and last frames span the most a
    grade drifting inside the shot can move (decision 204)."""

    def compute(m: ClipMedia) -> list[np.ndarray]:
        import cv2

        out = []
        for span in shot_spans(m):
            idx = frames_in(m, span, margin=0.2)
            pick = [idx[0], idx[len(idx) // 2], idx[-1]]
            out.append(np.stack([cv2.cvtColor(np.ascontiguousarray(m.frames[i][::STEP, ::STEP]), cv2.COLOR_RGB2HSV)
                                 for i in pick]))
        return out

    return media.feature("backdrop:shot_frames", compute)


def region_mask(height: int, width: int, interior: bool) -> np.ndarray:
    """The pixels a set change is looked for in: indoors the top fifth and the left and right fifths
    (the wall around the figures), outdoors the lower half (ground, not sky)."""
    mask = np.zeros((height, width), np.uint8)
    if interior:
        rows, cols = max(1, int(height * BORDER_SHARE)), max(1, int(width * BORDER_SHARE))
        mask[:rows] = 1
        mask[:, :cols] = 1
        mask[:, -cols:] = 1
    else:
        mask[height // 2:] = 1
    return mask


def shot_colour_hists(media: ClipMedia, bins: tuple[int, int, int] = INTERIOR_BINS[0],
                      interior: bool = True) -> list[np.ndarray]:
    """Per detected shot, the HSV histograms of its three frames over the set's region, (3, bins) each summing to 1."""
    import cv2

    out = []
    for frames in shot_colour_frames(media):
        mask = region_mask(frames.shape[1], frames.shape[2], interior)
        hists = []
        for f in frames:
            h = cv2.calcHist([f], [0, 1, 2], mask, list(bins), [0, 180, 0, 256, 0, 256]).reshape(-1)
            hists.append(h / (h.sum() + 1e-9))
        out.append(np.stack(hists))
    return out


def persistent_change(hists: list[np.ndarray]) -> np.ndarray:
    """For each cut d (before shot d, d >= 1), per colour bin: lost = max(0, least share in any frame
    of the shots before − most share in any frame of the shots after), gained the same the other way
    round; the cut scores Σ lost + Σ gained + `BOTH_WAYS` × the smaller of the two, × `SINGLE_SHOT_SIDE`
    when a side has one shot (index 0 unused, 0)."""
    least = np.stack([h.min(0) for h in hists])
    most = np.stack([h.max(0) for h in hists])
    n = len(hists)
    out = np.zeros(n)
    for d in range(1, n):
        lost = float(np.maximum(0.0, least[:d].min(0) - most[d:].max(0)).sum())
        gained = float(np.maximum(0.0, least[d:].min(0) - most[:d].max(0)).sum())
        out[d] = (lost + gained + BOTH_WAYS * min(lost, gained)) * (SINGLE_SHOT_SIDE if min(d, n - d) == 1 else 1.0)
    return out


def backdrop_change(media: ClipMedia) -> tuple[float, list[tuple[float, float, float]]]:
    """Background colour that persists on one side of a cut and is absent on the other (best cut).

    Per cut and colour bin, the least share any frame of the shots on one side shows less the most
    any frame on the other side shows (`persistent_change`), summed over bins, averaged over the
    binnings of the scripted kind of set (`INTERIOR_BINS` on the frame's border, `EXTERIOR_BINS` on
    its lower half). Colours of the figures and of the framing come and go between shots, so they
    rarely pass a min over a side; a repainted wall or a darker floor is in every frame from its cut
    on. A grade drifting over the scene moves colours inside each shot too, so the least and most
    over a shot's first, middle and last frames take most of it out. The window runs from that cut
    to the end of the clip (a changed set stays changed).
    """
    spans = shot_spans(media)
    if len(spans) < 2:
        return 0.0, []
    interior = media.scene is None or media.scene.setting.interior
    binnings = INTERIOR_BINS if interior else EXTERIOR_BINS
    per_cut = np.zeros(len(spans))
    for bins in binnings:
        per_cut += persistent_change(shot_colour_hists(media, bins, interior)) / len(binnings)
    at = int(np.argmax(per_cut))
    best = float(per_cut[at])
    if best <= 0.0:
        return 0.0, []
    return best, [(spans[at].start, media.duration_s, best)]
