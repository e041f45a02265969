"""Scripted actions: does the speaker's body end up somewhere else than where the line began?

`action_scores` gives `mp.action_missing` its per-line scores for the `motion` probe (decisions 107, 161,
198). Action lines in static shots and zooms are measured (`MEASURED_MOVES`), not static shots whose camera the
`camera` probe reads as moved (`CAMERA_MOVED_PX`, decision 219). Per action line the window runs from 0.2 s before its aligned span (or, for a line the aligner did
not find, its share of the detected shot: `line_windows`) to 0.6 s after, inside the shot it starts
in, frozen frames left out. Every frame of the window is compared with its first frame in colour after
undoing the camera (`displacement`, decision 209); the areas that moved are measured in head areas around the speaker's
mouth (`speaker_anchor`, `region_areas`), and a logistic model fitted on labelled clips
(`action_model.json`, `fit_action_model`) turns them into the log-odds that the action is missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.base import ModeScore, load_model
from diagnosers.probes.align import align_lines
from diagnosers.probes.features import Span, cuts, frames_in, gray, shot_spans
from scenes.vocabulary import EMOTION_AFFECT

ACTION_MODEL = Path(__file__).with_name("action_model.json")
MIN_FIT_LINES = 5  # lines with and without the action that a fit needs
ACTION_WINDOW = (0.2, 0.6)  # seconds before an action line's start and after its end that its window adds
# (actions are drawn from the line's start and often held a little past its end)
MOVED_DIFF = 16.0  # colour levels (4x4 block mean of the largest RGB channel difference) from the window's first
# frame at which a block counts as moved: above breathing and codec noise on still figures, below an arm or body
# edge crossing the block (static and zoom fitting lines, scene-grouped 4-fold CV AUC 0.928 at 12, 0.939 at 16
# on 4-px blocks, 0.927 at 12 on 8-px blocks; decisions 209, 214)
BLOCK = 4  # decode pixels per block side: a wide shot's head is about one 8-px block in radius, too coarse to
# tell a raised arm from a talking head (decision 214)
ZOOM_TOLERANCE = 1  # pixels (half size) a zoom's warped reference may be off: the ECC warp, fitted at a quarter
# size and scaled up, can leave edges a pixel or so off (zoom lines of the fitting set: AUC 0.87 -> 0.92 with it; decision 209)

# head radius (half height) in frame heights by scripted shot size, for speakers whose face is not
# found (wide shots): a close-up's face fills about half the frame, a wide shot's whole figure about half of it
HEAD_RADIUS = {
    "extreme_wide": 0.027, "wide": 0.044, "full": 0.062, "medium": 0.11,
    "medium_close_up": 0.155, "close_up": 0.22, "extreme_close_up": 0.36,
}
# Camera moves measured (decisions 161, 198): lines in static shots and zooms. Pans and tilts slide the set
# behind a figure at another speed than the figure (parallax), and hand-held sway moves both: what is left
# after undoing them reads like a moving figure (fitting clips, one model on every line: AUC 0.58 on
# 48 pan/tilt lines, 0.79 on 43 hand-held lines against 0.98 static and 0.87 zoom). Answering them
# raised coverage 0.63 -> 0.90 but cut the fitted balanced accuracy 0.90 -> 0.84 (decision 198).
# Extreme close-ups are measured: few (16 of 324 fitting lines), near chance, but they keep the answered
# positives above 30 (fitted balanced accuracy 0.92 without them, 0.90 with).
MEASURED_MOVES = ("static", "push_in", "pull_out")
# A shot the script keeps static but whose camera the `camera` probe reads as moved is a moving shot and not
# measured either (decision 219): its cut for camera motivation (25 px of a 640-wide frame, fitted on
# generator 1.2.0's fitting clips) is where a static shot stops reading as static.
CAMERA_MOVED_PX = 25.0
FACE_MIN_DX = 8.0  # pupils at least this far apart (px) anchor the speaker by their face; smaller "faces" are
# mostly patterns in wide shots that put the anchor on the wrong figure (static lines: AUC 0.93 with every face, 0.98 from 8 px)
# Regions around the mouth, in head radii (rows: - = above): above the head, beside it, the chest.
# Beat gestures of talking hands stay below the chest; a raised arm, a lean, a reach or a change of
# posture moves the figure at chest height and above (static lines: AUC 0.89 counting everything
# below the mouth, 0.93 stopping 3 radii under it).
REGIONS = {"above": (-6.0, -0.5), "head": (-0.5, 0.5), "chest": (0.5, 3.0)}
REACH = 6.0  # head radii to either side of the mouth an arm can reach
FEATURES = ("above", "head", "chest", "face", "above_end", "head_end", "chest_end", "arousal")
CAMERA_SIZE = (80, 45)  # the camera is estimated at a quarter of the decode size


def line_windows(media: ClipMedia) -> dict[int, Span]:
    """Each action line's time on screen: its aligned span, else (the aligner found no speech for it)
    its share of its scripted shot's detected span by text length, when the clip has as many detected
    shots as the script has shots."""
    scene = media.scene
    spans = {ls.index: ls.span for ls in align_lines(media) if ls.span is not None}
    detected = shot_spans(media)
    out = {}
    for i, line in enumerate(scene.lines):
        if line.action is None:
            continue
        if i in spans:
            out[i] = spans[i]
            continue
        k = _shot_index(scene, i)
        if k is None or len(detected) != len(scene.shots) or not scene.shots[k].lines:
            continue
        own = [j for j in scene.shots[k].lines if j < len(scene.lines)]
        weights = [max(1, len(scene.lines[j].text)) for j in own]
        a, b = detected[k].start, detected[k].end
        before = sum(w for j, w in zip(own, weights, strict=True) if j < i)
        share = (b - a) / sum(weights)
        out[i] = Span(a + before * share, a + (before + weights[own.index(i)]) * share)
    return out


def action_features(media: ClipMedia) -> dict[int, dict[str, float]]:
    """Per measured action line: moved areas (head areas) per region, largest over the window and
    mean over its last three frames, plus the scripted emotion's arousal."""

    def compute(m: ClipMedia) -> dict[int, dict[str, float]]:
        from diagnosers.probes.camera import shot_moves
        from diagnosers.probes.picture import frozen_frames

        scene = m.scene
        camera_moved = {k for k, px in shot_moves(m).items() if px > CAMERA_MOVED_PX}
        n = len(m.frame_times)
        frozen = frozen_frames(m)
        cut_frames = sorted(m.frame_index(c) for c in cuts(m))
        out = {}
        for i, span in line_windows(m).items():
            shot = scene.shots[k] if (k := _shot_index(scene, i)) is not None else None
            if shot is None or shot.movement.value not in MEASURED_MOVES or k in camera_moved:
                continue
            span_idx = frames_in(m, span)
            if len(span_idx) < 3 or frozen[span_idx].mean() >= 0.5:
                continue
            start = int(span_idx[0])
            lo = max([0] + [c + 1 for c in cut_frames if c <= start])
            hi = min([n] + [c - 1 for c in cut_frames if c > start])
            k0 = max(lo, m.frame_index(max(0.0, span.start - ACTION_WINDOW[0])))
            k1 = min(hi, m.frame_index(span.end + ACTION_WINDOW[1]) + 1)
            idx = np.array([k for k in range(k0, k1) if not frozen[k]], int)
            inside = span_idx[(span_idx >= lo) & (span_idx < hi) & ~frozen[span_idx]]
            if len(idx) < 4 or len(inside) < 3:
                continue
            my, mx, radius = speaker_anchor(m, i, idx, inside, shot)
            if shot.movement.value != "static":  # every other frame: the camera fit is the costly part
                idx = np.concatenate([idx[:-1:2], idx[-1:]])
            moved = displacement(m, idx, shot.movement.value) > MOVED_DIFF
            feats = region_areas(moved, my, mx, radius)
            feats["arousal"] = float(EMOTION_AFFECT[scene.lines[i].emotion][1])
            out[i] = feats
        return out

    return media.feature("actions:features", compute)


def action_scores(media: ClipMedia):
    """`mp.action_missing`: per measured action line, the fitted log-odds that the action is missing
    (without a model: less moved area above the chest than on the face, as a log ratio)."""
    feats = action_features(media)
    spans = line_windows(media)
    model = load_model(str(ACTION_MODEL))
    scores = {i: _score(f, model) for i, f in feats.items()}
    windows = [(spans[i].start, spans[i].end, s) for i, s in scores.items()]
    return ModeScore("mp.action_missing", max(scores.values()) if scores else None, scores, windows)


def _vector(f: dict[str, float]) -> np.ndarray:
    return np.array([f[k] if k == "arousal" else np.log(f[k] + 0.1) for k in FEATURES])


def _score(f: dict[str, float], model: dict | None) -> float:
    if model is None or model.get("features") != list(FEATURES):  # no model, or one fitted on other features
        return float(np.log(f["face"] + 0.1) - np.log(f["above"] + f["head"] + f["chest"] + 0.1))
    z = (_vector(f) - np.asarray(model["mean"])) / np.asarray(model["scale"])
    return float(z @ np.asarray(model["coef"]) + model["intercept"])


def speaker_anchor(media: ClipMedia, line: int, idx: np.ndarray, inside: np.ndarray, shot) -> tuple[float, float, float]:
    """(mouth row, mouth column, head radius), in `BLOCK`-pixel blocks of the decode size, of the line's
    speaker at the window's start.

    The speaker's face when eye-pair faces with pupils `FACE_MIN_DX` apart or more are seen in the
    window (`face_tracking`): the only face of a single or over-the-shoulder shot, the one in the
    speaker's place in the script's left-to-right staging when as many faces as subjects are seen,
    else the face whose mouth opening varies most; mouth 0.9 pupil separations under the eyes,
    head radius 1.5 of them. Otherwise the block whose luma changes (by more than 1.5 levels between
    consecutive frames) in the most frames of the line (a talking mouth never stops for long), with the
    head radius of the scripted shot size.
    """
    import cv2

    from diagnosers.probes.face_tracking import face_tracks
    from diagnosers.probes.faces import stage_order

    t0, t1 = float(media.frame_times[idx[0]]), float(media.frame_times[idx[-1]])
    present = [tr.between(t0, t1) for tr in face_tracks(media)]
    most = max((len(fs) for fs in present), default=0)
    present = [fs for fs in present if len(fs) >= max(2, 0.5 * most) and np.median([f.dx for f in fs]) >= FACE_MIN_DX]
    if present:
        facing = list(shot.subjects)
        if shot.angle.value == "over_shoulder" and len(facing) >= 2:
            facing = facing[:1]
        if len(facing) == 1 and len(present) >= 1:
            fs = max(present, key=len)
        elif len(facing) == len(present) and media.scene.lines[line].speaker in facing:
            order = {c: k for k, c in enumerate(stage_order(media.scene))}
            facing.sort(key=lambda c: order.get(c, 99))
            present.sort(key=lambda fs: float(np.median([f.x for f in fs])))
            fs = present[facing.index(media.scene.lines[line].speaker)]
        else:
            fs = max(present, key=lambda fs: float(np.std([f.mouth or 0.0 for f in fs])))
        first = min(fs, key=lambda f: f.t)
        dx = float(np.median([f.dx for f in fs]))
        return (first.y + 0.9 * dx) / BLOCK, first.x / BLOCK, 1.5 * dx / BLOCK
    g = gray(media)
    rows, cols = g.shape[1] // BLOCK, g.shape[2] // BLOCK
    small = np.stack([cv2.resize(g[k][: rows * BLOCK, : cols * BLOCK], (cols, rows), interpolation=cv2.INTER_AREA)
                      for k in inside]).astype(np.float32)
    persistence = (np.abs(np.diff(small, axis=0)) > 1.5).mean(axis=0)
    my, mx = np.unravel_index(int(np.argmax(persistence)), persistence.shape)
    return float(my), float(mx), max(4.0 / BLOCK, HEAD_RADIUS.get(shot.size.value, HEAD_RADIUS["medium"]) * rows)


def displacement(media: ClipMedia, idx: np.ndarray, movement: str) -> np.ndarray:
    """(len(idx) - 1, rows, cols) block mean colour difference (blocks of `BLOCK` decode pixels, measured at
    half size: the largest |Δ| of the three RGB channels) of each frame against the window's first frame
    with the camera undone.

    Colour, not luma: a dark red arm raised across a dark green or navy set changes the picture's hue
    far more than its brightness (decision 209). Static shots: the first frame as it is. Zooms: the first
    frame warped by the affine motion that OpenCV's ECC fits between the luma of the two at `CAMERA_SIZE`
    (each frame starting from the previous frame's estimate), and each pixel compared with the range of
    the warped reference within `ZOOM_TOLERANCE` pixels, so the warp's sub-pixel error along edges does
    not read as motion. The reference is matched to the frame's tones channel by channel by a robust
    linear fit (a grade drifting during the line changes every block without moving anything).
    """
    import cv2

    g, rgb = gray(media), media.frames
    height, width = g.shape[1:]
    rows, cols = height // 8, width // 8
    half = (cols * 4, rows * 4)  # half the decode size, whole 8-px blocks

    def small(k: int, size: tuple[int, int]) -> np.ndarray:
        return cv2.resize(g[k][: rows * 8, : cols * 8], size, interpolation=cv2.INTER_AREA).astype(np.float32)

    def small_rgb(k: int) -> list[np.ndarray]:  # channel planes: 2-D operations are the fast ones
        planes = cv2.split(cv2.resize(rgb[k][: rows * 8, : cols * 8], half, interpolation=cv2.INTER_AREA))
        return [c.astype(np.float32) for c in planes]

    ref, ref_cam = small_rgb(idx[0]), small(idx[0], CAMERA_SIZE)
    warp = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 15, 1e-3)
    window = np.ones((2 * ZOOM_TOLERANCE + 1,) * 2, np.uint8)
    out = np.empty((len(idx) - 1, rows * 8 // BLOCK, cols * 8 // BLOCK), np.float32)
    for j, k in enumerate(idx[1:]):
        frame = small_rgb(k)
        seen_ref = ref
        if movement != "static":
            try:
                _, warp = cv2.findTransformECC(ref_cam, small(k, CAMERA_SIZE), warp, cv2.MOTION_AFFINE, criteria, None, 3)
            except cv2.error:  # no convergence: keep the previous frame's estimate
                pass
            scaled = warp.copy()
            scaled[:, 2] *= half[0] / CAMERA_SIZE[0]
            seen_ref = [cv2.warpAffine(c, scaled, half, borderMode=cv2.BORDER_REPLICATE) for c in ref]
        diff = None
        for seen, now in zip(seen_ref, frame, strict=True):
            seen = _match_tones(seen, now)
            if movement == "static":
                d = cv2.absdiff(now, seen)
            else:  # outside the reference's local range only
                d = cv2.max(cv2.subtract(now, cv2.dilate(seen, window)), cv2.subtract(cv2.erode(seen, window), now))
            diff = d if diff is None else cv2.max(diff, d)
        out[j] = cv2.resize(np.maximum(diff, 0.0), out.shape[:0:-1], interpolation=cv2.INTER_AREA)
    return out


def _match_tones(ref: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """`ref` mapped by the linear tone curve that best matches `frame` on its 70 % best-fitting pixels
    (every 3rd pixel of the half-size frames, borders left out); `ref` itself when the tones already agree."""
    x, y = ref[6:-6:3, 8:-8:3].ravel(), frame[6:-6:3, 8:-8:3].ravel()
    if abs(float(np.median(y - x))) < 1.0:
        return ref
    a, b = _line_fit(x, y)
    res = np.abs(a * x + b - y)
    keep = res <= np.partition(res, int(0.7 * (len(res) - 1)))[int(0.7 * (len(res) - 1))]
    a, b = _line_fit(x[keep], y[keep])
    return a * ref + b


def _line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares y = a x + b (a = 1 when x is flat)."""
    xm, ym = float(x.mean()), float(y.mean())
    var = float(((x - xm) ** 2).sum())
    a = float(((x - xm) * (y - ym)).sum()) / var if var > 1.0 else 1.0
    return a, ym - a * xm


def region_areas(moved: np.ndarray, my: float, mx: float, radius: float) -> dict[str, float]:
    """Moved area (in head areas, radius²) per region around the mouth: the face disc (one radius) and
    `REGIONS` within `REACH` radii to either side, outside the face; largest over the frames and
    mean over the last three (`<region>_end`)."""
    _, rows, cols = moved.shape
    yy, xx = np.mgrid[:rows, :cols]
    face = np.hypot(yy - my, xx - mx) <= max(1.0, radius)
    beside = ~face & (np.abs(xx - mx) <= REACH * radius)
    area = max(1.0, radius * radius)
    out = {"face": float(moved[:, face].sum(axis=1).max()) / area}
    for name, (top, bottom) in REGIONS.items():
        region = beside & (yy >= my + top * radius) & (yy < my + bottom * radius)
        per_frame = moved[:, region].sum(axis=1) / area
        out[name] = float(per_frame.max())
        out[name + "_end"] = float(per_frame[-3:].mean())
    return out


def _shot_index(scene, line: int) -> int | None:
    try:
        return scene.shot_of_line(line)
    except KeyError:  # a line no shot lists
        return None


def fit_action_model(samples: Iterable[tuple], out: Path = ACTION_MODEL) -> dict:
    """Logistic regression of "the action is missing" on `FEATURES` (log areas + arousal) over
    the measured action lines of `(media, manifest)` fitting pairs (label: an `action_missing` fault on
    the line); writes and returns the model. Only fitting clips' manifests are read."""
    lines = []
    for media, manifest in samples:
        missing = {f.line for f in manifest.faults if f.fault == "action_missing"}
        lines += [(f, i in missing) for i, f in action_features(media).items()]
    return fit_action_lines(lines, out)


def fit_action_lines(lines: list[tuple[dict[str, float], bool]], out: Path = ACTION_MODEL) -> dict:
    """`fit_action_model` on (features, action missing) pairs already measured."""
    from sklearn.linear_model import LogisticRegression

    X = [_vector(f) for f, _ in lines]
    y = [missing for _, missing in lines]
    if sum(y) < MIN_FIT_LINES or len(y) - sum(y) < MIN_FIT_LINES:
        # too few lines of one kind to fit on: the model in use stays, and the summary says why
        return {"lines": len(y), "missing": int(sum(y)), "skipped": f"needs {MIN_FIT_LINES} measured action lines with "
                f"and without the action, got {int(sum(y))} and {len(y) - int(sum(y))}"}
    X = np.asarray(X)
    mean, scale = X.mean(axis=0), X.std(axis=0) + 1e-9
    clf = LogisticRegression(C=1.0, max_iter=1000).fit((X - mean) / scale, np.asarray(y))
    model = {"features": list(FEATURES), "mean": mean.tolist(), "scale": scale.tolist(),
             "coef": clf.coef_[0].tolist(), "intercept": float(clf.intercept_[0]), "lines": len(y), "missing": int(sum(y))}
    out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    load_model.cache_clear()
    return model
