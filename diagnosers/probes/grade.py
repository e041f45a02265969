"""Grading probes: lighting and colour against the scripted mood, grade drift inside shots, backdrop changes."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.backdrop import backdrop_change
from diagnosers.probes.base import ModeScore, load_model, probe
from diagnosers.probes.features import (
    cuts,
    frames_in,
    picture_stats,
    shot_spans,
)
from scenes.vocabulary import MOOD_AFFECT, Brightness, Palette, TimeOfDay

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
    - scene consistency drift: colour that every frame of the shots on one side of a cut shows and
      no frame on the other side does (HSV histograms of each shot's first, middle and last frames,
      best cut; decisions 093, 204); indoors on the frame's border (the wall around the figures),
      outdoors on its lower half (decision 160; `backdrop.backdrop_change`). A changed set (a wall
      repainted, a floor darkened) persists from its cut to the end and holds still inside each shot,
      while framing changes come and go between shots and a drifting grade moves colours inside every shot.
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
    scene_drift, ws = backdrop_change(media)
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
        ModeScore("ec.scene_consistency_drift", scene_drift, windows=ws),
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


def expected_grade(scene) -> dict[str, tuple[float, float]] | None:
    """(expected value, residual spread) per statistic from the fitted model, None without one."""
    model = load_model(str(GRADING_MODEL))
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
    load_model.cache_clear()
    return model
