"""Picture probes: frozen picture, motion for scripted actions, grading against mood, drift, cuts, lip sync."""

from __future__ import annotations

import json
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.align import align_lines
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.features import (
    HOP_S,
    cuts,
    frame_diff,
    frames_in,
    gray,
    picture_stats,
    shot_spans,
    speech_mask,
)
from scenes.vocabulary import MOOD_AFFECT, Brightness, Palette, TimeOfDay

FROZEN_BLOCK_DIFF = 2.5  # max over 8x8 blocks of mean |Δluma| under which two sampled frames show the same picture
# (codec refreshes of a held picture reach ~1.9; a moving mouth 5 and more)


@probe("motion", ("sf.frozen_video", "mp.action_missing"))
def motion(media: ClipMedia) -> list[ModeScore]:
    """Frame-difference energy over time.

    - frozen video: over runs of ≥ 0.8 s of sampled frames in which no 8×8 block changes while
      speech is heard (≥ 30 % of the run), the largest run length × (1 + log(1 + the picture's
      change when it moves again)): a frozen picture catches up with a jump, a still listener
      shot does not (decision 056);
    - action missing: for each line with a scripted action, the motion in the line's span relative
      to the median motion of the clip's lines, as -log ratio (a still picture where an arm should
      slam scores high).
    """
    diff = frame_diff(media)
    t = media.frame_times
    # frozen: not even one 8x8 block changes (a moving mouth or blink is one or two blocks)
    blocks = block_diff(media).reshape(len(t), -1)
    still = blocks.max(axis=1) < FROZEN_BLOCK_DIFF
    still[0] = False
    speech = _heard_speech(media)
    frozen_score, windows = 0.0, []
    for a, b in _runs(still):
        seconds = (b - a) / media.fps
        if seconds < FROZEN_MIN_S or speech[a:b].mean() < 0.3:
            continue
        release = float(blocks[b].mean()) if b < len(t) else 0.0
        score = seconds * (1.0 + float(np.log1p(release)))
        windows.append((float(t[a]), float(t[b - 1]) + 1.0 / media.fps, score))
        frozen_score = max(frozen_score, score)
    frozen = ModeScore("sf.frozen_video", frozen_score, windows=sorted(windows, key=lambda w: -w[2]),
                       detail={"still_runs": len(windows)})
    scene = media.scene
    spans = {ls.index: ls.span for ls in align_lines(media) if ls.span is not None}
    cut_frames = {media.frame_index(c) for c in cuts(media)}
    clean_diff = diff.copy()
    for f in cut_frames:
        clean_diff[max(0, f - 1): f + 2] = np.nan
    energies = {i: float(np.nanmean(clean_diff[frames_in(media, s)])) for i, s in spans.items()
                if not np.all(np.isnan(clean_diff[frames_in(media, s)]))}
    ref = float(np.median(list(energies.values()))) if energies else 0.0
    missing, windows_a = {}, []
    for i, line in enumerate(scene.lines):
        if line.action is None or i not in energies:
            continue
        missing[i] = -float(np.log((energies[i] + 0.05) / (ref + 0.05)))
        windows_a.append((spans[i].start, spans[i].end, missing[i]))
    action = ModeScore("mp.action_missing", max(missing.values()) if missing else None, missing, windows_a)
    return [frozen, action]


FROZEN_MIN_S = 0.8  # shorter still runs during speech are pauses between words


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index ranges where `mask` is true."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.nonzero(edges == 1)[0].tolist(), np.nonzero(edges == -1)[0].tolist(), strict=True))


def _heard_speech(media: ClipMedia) -> np.ndarray:
    """Per sampled frame: share of speech frames (fused detector) within ±40 ms."""
    mask = speech_mask(media).astype(np.float32)
    idx = np.minimum((media.frame_times / HOP_S).astype(int), len(mask) - 1)
    smooth = np.convolve(mask, np.ones(5) / 5, "same")
    return smooth[idx]


TIME_LIGHT = {
    TimeOfDay.dawn: 0.45, TimeOfDay.morning: 0.65, TimeOfDay.day: 0.75, TimeOfDay.afternoon: 0.7,
    TimeOfDay.dusk: 0.4, TimeOfDay.evening: 0.35, TimeOfDay.night: 0.2,
}
BRIGHTNESS = {Brightness.dark: 0.15, Brightness.low: 0.3, Brightness.normal: 0.55, Brightness.bright: 0.8}
PALETTE = {Palette.warm: 1.0, Palette.neutral: 0.0, Palette.cool: -1.0}


def expected_light(scene) -> float:
    """0..1 brightness the script asks for: the explicit brightness, else time of day nudged by mood."""
    if scene.setting.brightness is not None:
        return BRIGHTNESS[scene.setting.brightness]
    valence = MOOD_AFFECT[scene.atmosphere.mood][0]
    return float(np.clip(TIME_LIGHT[scene.setting.time_of_day] + 0.1 * valence, 0.05, 0.95))


def expected_warmth(scene) -> float:
    """-1..1 colour temperature the script asks for: the palette, else the mood's valence."""
    if scene.setting.palette is not None:
        return PALETTE[scene.setting.palette]
    return float(np.clip(MOOD_AFFECT[scene.atmosphere.mood][0], -1, 1))


def shot_stats(media: ClipMedia) -> list[dict[str, float]]:
    """Median picture statistics per detected shot (frames next to a cut left out)."""

    def compute(m: ClipMedia) -> list[dict[str, float]]:
        stats = picture_stats(m)
        out = []
        for span in shot_spans(m):
            idx = frames_in(m, span, margin=0.2)
            out.append({k: float(np.median(stats[k][idx])) for k in ("luminance", "contrast", "saturation", "warmth")}
                       | {"start": span.start, "end": span.end})
        return out

    return media.feature("shot_stats", compute)


@probe("grading", ("mc.lighting_emotion_conflict", "mc.color_emotion_conflict", "mc.visual_mood_drift", "ec.scene_consistency_drift"))
def grading(media: ClipMedia) -> list[ModeScore]:
    """Picture statistics per detected shot against the scripted lighting and mood.

    - lighting–emotion conflict: |luminance of the clip's first third − what the script's time of
      day, brightness and mood predict| in units of the prediction's spread (a ridge model fitted on labelled clips,
      `grading_model.json`); without the model, per shot |luminance − a rule-of-thumb brightness|;
    - colour–emotion conflict: the same for warmth (mean R − B) and saturation, combined as the
      length of the two residuals; without the model, warmth pointing away from the palette or mood valence;
    - visual mood drift: the grade's change inside shots — per detected shot, |last − first|
      luminance/warmth/saturation (medians of 3 frames), summed over shots, in units of 20/12/20
      levels, the largest of the three. Framing changes at cuts do not count, and a clean shot
      keeps its grade while a drifting grade moves steadily (decision 057);
    - scene consistency drift: the largest hue/saturation-histogram distance between the upper
      third (backdrop) of the first shot and of any later shot.
    """
    scene = media.scene
    shots = shot_stats(media)
    light = expected_light(scene)
    warmth = expected_warmth(scene)
    valence = MOOD_AFFECT[scene.atmosphere.mood][0]
    lighting, colour, wl, wc = [], [], [], []
    for s in shots:
        lum = s["luminance"] / 255.0
        lighting.append(abs(lum - light))
        wl.append((s["start"], s["end"], lighting[-1]))
        c = -(s["warmth"] / 64.0) * np.sign(warmth) if abs(warmth) > 0.15 else abs(s["warmth"]) / 64.0 - 0.5
        if valence > 0.3:
            c += max(0.0, (60.0 - s["saturation"]) / 60.0)
        colour.append(float(c))
        wc.append((s["start"], s["end"], colour[-1]))
    mood_drift, wd = within_shot_drift(media)
    # backdrop: upper third of each shot's middle frame
    import cv2

    hists = []
    for span in shot_spans(media):
        f = media.frames[media.frame_index(span.mid)]
        top = cv2.cvtColor(np.ascontiguousarray(f[: f.shape[0] // 3]), cv2.COLOR_RGB2HSV)
        h = cv2.calcHist([top], [0, 1], None, [12, 4], [0, 180, 0, 256]).reshape(-1)
        hists.append(h / (h.sum() + 1e-9))
    scene_drift, ws = [], []
    spans = shot_spans(media)
    for k in range(1, len(hists)):
        d = float(0.5 * np.abs(hists[k] - hists[0]).sum())
        scene_drift.append(d)
        ws.append((spans[k].start, spans[k].end, d))
    lighting_score, colour_score = max(lighting), max(colour)
    fitted = expected_grade(scene)
    if fitted is not None:  # residuals from what clips of such scripts look like (fitted on labelled clips)
        g = opening_grade(media)  # before any drift: a drifting grade is another mode (decision 058)
        z = {k: (g[k] - mu) / sd for k, (mu, sd) in fitted.items()}
        lighting_score = abs(z["luminance"])
        colour_score = float(np.hypot(z["warmth"], z["saturation"]))  # a grade is off in both at once
        wl = [(0.0, media.duration_s, lighting_score)]
        wc = [(0.0, media.duration_s, colour_score)]
    return [
        ModeScore("mc.lighting_emotion_conflict", lighting_score, windows=wl, detail={"expected": light}),
        ModeScore("mc.color_emotion_conflict", colour_score, windows=wc, detail={"expected_warmth": warmth}),
        ModeScore("mc.visual_mood_drift", mood_drift, windows=wd),
        ModeScore("ec.scene_consistency_drift", max(scene_drift) if scene_drift else 0.0, windows=ws),
    ]


DRIFT_UNITS = {"luminance": 20.0, "warmth": 12.0, "saturation": 20.0}  # levels of a clearly visible grade change


def within_shot_drift(media: ClipMedia) -> tuple[float, list[tuple[float, float, float]]]:
    """Grade change inside detected shots: the largest over statistics of Σ_shots |end − start| / unit."""
    stats = picture_stats(media)
    n = len(media.frame_times)
    edges = [0, *sorted(media.frame_index(c) for c in cuts(media)), n]
    totals = dict.fromkeys(DRIFT_UNITS, 0.0)
    windows = []
    for a, b in pairwise(edges):
        first, last = a + 1, b - 1  # skip the frames touching a cut
        if last - first < 6:
            continue
        change = {k: abs(float(np.median(stats[k][last - 3: last]) - np.median(stats[k][first: first + 3]))) / unit
                  for k, unit in DRIFT_UNITS.items()}
        for k, v in change.items():
            totals[k] += v
        windows.append((float(media.frame_times[first]), float(media.frame_times[last - 1]), max(change.values())))
    return max(totals.values()), windows


def block_diff(media: ClipMedia, block: int = 8) -> np.ndarray:
    """(N, By, Bx) mean |Δluma| per 8×8 block to the previous sampled frame."""

    def compute(m: ClipMedia) -> np.ndarray:
        import cv2

        g = gray(m)
        n, h, w = g.shape
        d = np.empty((n, h // block, w // block), np.float32)
        d[0] = 0.0
        for k in range(1, n):  # per frame: absdiff and an 8x8 area mean, both in OpenCV
            diff = cv2.absdiff(g[k], g[k - 1])[: h // block * block, : w // block * block]
            d[k] = cv2.resize(diff.astype(np.float32), (w // block, h // block), interpolation=cv2.INTER_AREA)
        return d

    return media.feature("block_diff", compute)


def block_motion(media: ClipMedia) -> np.ndarray:
    """Block differences with global motion (the median block) removed and cut frames zeroed."""

    def compute(m: ClipMedia) -> np.ndarray:
        d = block_diff(m).copy()
        d -= np.median(d, axis=(1, 2), keepdims=True)
        for c in cuts(m):
            k = m.frame_index(c)
            d[max(0, k - 1): k + 2] = 0.0
        return d

    return media.feature("block_motion", compute)


def _half_hists(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    h, w = frame.shape[:2]
    body = np.ascontiguousarray(frame[h // 3:])
    hsv = cv2.cvtColor(body, cv2.COLOR_RGB2HSV)
    out = []
    for part in (hsv[:, : w // 2], hsv[:, w // 2:]):
        hist = cv2.calcHist([np.ascontiguousarray(part)], [0, 1, 2], None, [12, 3, 3], [0, 180, 0, 256, 0, 256]).reshape(-1)
        out.append(hist / (hist.sum() + 1e-9))
    return out[0], out[1]


def _colour_bins(frame: np.ndarray) -> np.ndarray:
    import cv2

    h = frame.shape[0]
    hsv = cv2.cvtColor(np.ascontiguousarray(frame[h // 3:]), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [18, 4, 4], [0, 180, 0, 256, 0, 256]).reshape(-1)
    return hist / (hist.sum() + 1e-9)


@probe("staging", ("ig.180_degree_rule_violation", "ct.character_continuity_break"))
def staging(media: ClipMedia) -> list[ModeScore]:
    """Who stands where, and what they wear, across detected shots.

    - 180-degree rule: for every pair of shots, how much better the left half of one matches the
      right half of the other (and vice versa) than the same halves match (body region, colour
      histograms): characters that swap screen sides swap their colours between halves;
    - character continuity: combined with the voice evidence, the largest share of a later shot's
      body-region colours that appear in no earlier shot (clothes or hair that changed), or a
      voice that changes (1 − lowest same-speaker embedding similarity), whichever is stronger
      relative to its typical clean value.
    """
    spans = shot_spans(media)
    frames = [media.frames[media.frame_index(s.mid)] for s in spans]
    halves = [_half_hists(f) for f in frames]
    swap, ws = 0.0, []
    for a in range(len(spans)):
        for b in range(a + 1, len(spans)):
            (la, ra), (lb, rb) = halves[a], halves[b]
            same = np.minimum(la, lb).sum() + np.minimum(ra, rb).sum()
            crossed = np.minimum(la, rb).sum() + np.minimum(ra, lb).sum()
            s = float(crossed - same)
            if s > swap:
                swap, ws = s, [(spans[b].start, spans[b].end, s)]
    bins = [_colour_bins(f) for f in frames]
    look, wl = 0.0, []
    for k in range(1, len(bins)):
        seen = np.max(np.stack(bins[:k]), axis=0)
        new_mass = float(bins[k][seen < 0.002].sum())
        if new_mass > look:
            look, wl = new_mass, [(spans[k].start, media.duration_s, new_mass)]
    from diagnosers.probes.speech import voices

    voice = next(s for s in voices.measure(media) if s.mode == "ct.character_continuity_break")
    v = voice.score if voice.score is not None else 0.0
    combined = max(look / LOOK_TYPICAL, v / VOICE_TYPICAL)
    windows = wl if look / LOOK_TYPICAL >= v / VOICE_TYPICAL else voice.windows
    return [
        ModeScore("ig.180_degree_rule_violation", swap if len(spans) > 1 else None, windows=ws),
        ModeScore("ct.character_continuity_break", combined, windows=[(a, b, combined) for a, b, _ in windows],
                  detail={"look_new_colour_share": look, "voice_dissimilarity": v}),
    ]


LOOK_TYPICAL = 0.05  # new-colour share of a clean later shot (set from clean clips, see docs/probes.md)
VOICE_TYPICAL = 0.3  # 1 - lowest same-speaker similarity on clean clips


# -- script → expected picture statistics, fitted on labelled clips ------------------------------------

GRADING_MODEL = Path(__file__).with_name("grading_model.json")
GRADE_TARGETS = ("luminance", "warmth", "saturation")


def script_features(scene) -> np.ndarray:
    """What the script says about the look: time of day, brightness, palette, mood affect, interior."""
    v, a = MOOD_AFFECT[scene.atmosphere.mood]
    feats = [1.0, v, a, max(0.0, -v), float(scene.setting.interior)]
    feats += [float(scene.setting.time_of_day is t) for t in TimeOfDay]
    feats += [float(scene.setting.brightness is b) for b in Brightness] + [float(scene.setting.brightness is None)]
    feats += [float(scene.setting.palette is p) for p in Palette] + [float(scene.setting.palette is None)]
    return np.asarray(feats, np.float64)


def clip_grade(media: ClipMedia) -> dict[str, float]:
    """Median luminance, warmth (R − B) and saturation over the clip's frames."""
    stats = picture_stats(media)
    return {k: float(np.median(stats[k])) for k in GRADE_TARGETS}


def opening_grade(media: ClipMedia, share: float = 1 / 3) -> dict[str, float]:
    """Median luminance, warmth and saturation over the clip's first third."""
    stats = picture_stats(media)
    n = len(stats["luminance"])
    head = slice(0, max(3, int(n * share)))
    return {k: float(np.median(stats[k][head])) for k in GRADE_TARGETS}


@lru_cache(maxsize=2)
def _grading_model(path: str) -> dict | None:
    p = Path(path)
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None


def expected_grade(scene) -> dict[str, tuple[float, float]] | None:
    """(expected value, residual spread) per statistic from the fitted model, None without one."""
    model = _grading_model(str(GRADING_MODEL))
    if model is None:
        return None
    x = script_features(scene)
    return {k: (float(x @ np.asarray(model[k]["coef"])), float(model[k]["sigma"])) for k in GRADE_TARGETS}


def fit_grading_model(samples: dict[str, list[ClipMedia]], out: Path = GRADING_MODEL, alpha: float = 1.0) -> dict:
    """Ridge regression of each clip statistic on the script features, per statistic over clips it is clean in."""
    model = {}
    for k in GRADE_TARGETS:
        clips = samples[k]
        X = np.stack([script_features(m.scene) for m in clips])
        y = np.asarray([clip_grade(m)[k] for m in clips])
        coef = np.linalg.solve(X.T @ X + alpha * np.eye(X.shape[1]), X.T @ y)
        resid = y - X @ coef
        model[k] = {"coef": coef.tolist(), "sigma": float(np.std(resid) + 1e-6)}
    model["clips"] = {k: len(v) for k, v in samples.items()}
    out.write_text(json.dumps(model) + "\n", encoding="utf-8")
    _grading_model.cache_clear()
    return model
