"""The valence a speaker's face shows during a line: a linear read-out of the face's luma, fitted on fitting clips
(decisions 196, 202).

Each face observation of the speaker (`faces.line_faces`, its `seen` faces) is cut from the media's luma as a
box around the pupils scaled to the face's own size (`CROP_BOX`, in pupil separations), shrunk to
`GRID`x`GRID`, normalised (minus its mean, over its spread) and averaged with its mirror image, so the read-out
sees the shape of the brows, eyes and mouth, not the framing, the skin, the grade or which way the head is
turned. The read-out is a ridge regression of the line's scripted valence on these pixels, fitted on the
fault-free lines of fitting clips (`fit_expression_weights`); a line's reading is the median over its
observations (talking frames and closed-mouth frames alike).
"""

from __future__ import annotations

import cv2
import numpy as np

from diagnosers.media import ClipMedia

# The cut-out around the pupils' midpoint, in pupil separations: left, right, top, bottom. It holds the brows
# (0.4-0.7 above the eyes), both eyes and the mouth with its corners (0.9 below, 0.6 aside) and a margin for a
# face finder's error of a quarter of a separation. The luma is cut as it comes: a limited-range luma's
# gain and offset leave the normalised cut-out as it is (the read-out was fitted on full-range cut-outs).
# Top and bottom 0.1 tighter than decision 196's (-1.0, 1.5): less hair and chin, two-fold line AUC of the
# mirrored read-out on sparse seeds 0-5 0.973 -> 0.986 (alpha 30; decision 202).
CROP_BOX = (-1.25, 1.25, -0.9, 1.4)
# Cut at 40x40 (the finest luma detail of a close-up; the box is stretched to a square), then averaged down to
# 16x16: on sparse seeds 0-5 (decision 196, unmirrored cut-outs),
# fitting on the odd seeds and scoring the even ones and back, the line AUC of the expression score read
# 0.942 at 12x12, 0.968 at 16x16 and 0.965 at 20x20 (ridge alpha 10); 18x18 read 0.970, no clear gain.
CUT = 40
GRID = 16
# Ridge penalty on the normalised, mirror-averaged pixels (same two-fold fit, line AUC of the expression score
# against the clean expectation, decision 202: alpha 10: 0.986, 30: 0.986, 100: 0.988).
RIDGE_ALPHA = 100.0
# Fewer fault-free face lines than this and the fit keeps the read-out in use (too few to fit 256 weights).
MIN_FIT_LINES = 100


def face_crops(media: ClipMedia, seen) -> np.ndarray:
    """The normalised, mirror-averaged `GRID`x`GRID` cut-outs (one row each) of face observations `seen`
    (frame-pixel positions)."""
    if not len(seen) or media.luma is None or not len(media.frames):
        return np.zeros((0, GRID * GRID), np.float32)
    scale = media.luma.shape[2] / media.frames.shape[2]
    times, luma = media.frame_times, media.luma
    left, right, top, bottom = CROP_BOX
    rows = []
    for f in seen:
        k = int(np.argmin(np.abs(times - f.t)))
        d = f.dx * scale
        to_luma = np.array([[(right - left) * d / CUT, 0, f.x * scale + left * d],
                            [0, (bottom - top) * d / CUT, f.y * scale + top * d]], np.float64)
        cut = cv2.warpAffine(luma[k], cv2.invertAffineTransform(to_luma), (CUT, CUT),
                             flags=cv2.INTER_AREA if d > CUT / 2.5 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        rows.append(cv2.resize(cut, (GRID, GRID), interpolation=cv2.INTER_AREA).astype(np.float32).ravel())
    crops = np.array(rows, np.float32)
    crops -= crops.mean(axis=1, keepdims=True)
    crops /= crops.std(axis=1, keepdims=True) + 1.0
    # An expression is (nearly) left-right symmetric, a head turn is not: the mirror average keeps the
    # symmetric part and drops the rest, so the read-out has half as many free weights to fit (decision 202).
    faces = crops.reshape(len(crops), GRID, GRID)
    return (0.5 * (faces + faces[:, :, ::-1])).reshape(len(crops), GRID * GRID)


def line_crops(media: ClipMedia) -> dict[int, np.ndarray]:
    """Per line with the speaker's face found: its observations' normalised cut-outs (cached per clip)."""
    from diagnosers.probes.faces import line_faces

    def compute(m: ClipMedia) -> dict[int, np.ndarray]:
        out = {}
        for i, lf in line_faces(m).items():
            crops = face_crops(m, lf.seen)
            if len(crops):
                out[i] = crops
        return out

    return media.feature("faces:crops", compute)


def shown_valence(crops: dict[int, np.ndarray], weights: np.ndarray, bias: float) -> dict[int, float]:
    """Per line: the median over its cut-outs of the read-out (the valence the face shows)."""
    return {i: float(np.median(c @ weights + bias)) for i, c in crops.items() if len(c)}


def fit_expression_weights(crops: list[np.ndarray], valences: list[float]) -> tuple[np.ndarray, float]:
    """Ridge regression (`RIDGE_ALPHA`, intercept unpenalised) of each line's scripted valence on its cut-outs."""
    X = np.vstack(crops).astype(np.float64)
    y = np.concatenate([np.full(len(c), v) for c, v in zip(crops, valences)])
    mx, my = X.mean(axis=0), y.mean()
    Xc = X - mx
    w = np.linalg.solve(Xc.T @ Xc + RIDGE_ALPHA * np.eye(X.shape[1]), Xc.T @ (y - my))
    return w, float(my - mx @ w)
