"""Scripted sound cues: whether each sound the script asks for (a door slam, a phone ring) is heard.

A scripted sound punctuates its line: in its own frequency bands it is among the loudest moments
of the clip. The probe reads, near where the aligner puts the cue's line, how loud the clip gets in
20 bands (a short peak and a level held for the cue's length) against the 98th percentile of the
same reading over the rest of the clip (away from every scripted cue), plus, for tonal kinds, how
far the kind's partials stand over the neighbouring frequencies. Which of those readings tell a
played cue of a kind from its absence is learned on fitting clips (`fit_cue_reference`: the 3
readings that separate played cues from lines without them best, per kind; decision 150).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.align import align_lines
from diagnosers.probes.base import ModeScore, load_model, probe
from diagnosers.probes.features import HOP_S, spectral_frames
from diagnosers.probes.soundscape import MODEL

# Each kind of scripted sound as a listener would describe it: how long it lasts (s) and, for tonal
# kinds, the frequencies of its partials (Hz; decision 108).
CUE_KINDS: dict[str, tuple[float, tuple[float, ...]]] = {
    "impact": (0.3, ()),  # a thump under a noise burst (slam, bang, crash, thud)
    "gunshot": (0.8, ()),
    "knock": (0.5, ()),
    "glass": (0.6, ()),  # a hit and bright tinkles
    "metal": (0.4, ()),  # a hit with ringing mid-high partials
    "click": (0.1, ()),
    "hiss": (0.8, ()),
    "applause": (1.5, ()),
    "thunder": (1.0, ()),  # a crack, then a low rumble
    "footsteps": (1.8, ()),  # soft low thumps, 0.5 s apart
    "bark": (0.7, ()),
    "bell": (1.0, (880.0, 2430.0, 4750.0)),  # A5 bell, inharmonic partials
    "doorbell": (1.0, (525.0, 660.0, 1445.0, 1810.0)),  # ding-dong, two bells a third apart
    "phone": (1.0, (440.0, 480.0)),  # the 440 + 480 Hz ring
    "horn": (0.6, (400.0, 500.0, 1200.0, 1500.0)),  # two buzzy tones (odd harmonics)
    "whistle": (0.8, (3000.0,)),
    "alarm": (1.0, (3100.0,)),  # 3.1 kHz beeps
    "buzz": (0.8, (150.0, 450.0, 750.0)),  # 150 Hz buzzer (odd harmonics)
}
# Words of a cue text -> kind (first match wins, specific kinds first; anything else is a generic impact).
CUE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("gunshot", ("gun", r"shots?\b", "pistol", "rifle")),
    ("glass", ("glass", "shatter", "plate", "dish", "window break")),
    ("knock", ("knock",)),
    ("doorbell", ("doorbell", "door bell")),
    ("applause", ("applau", "clap", "cheer")),
    ("buzz", ("buzz", "vibrat")),
    ("phone", ("phone", r"ring(s|ing)?\b", "telephone", "cellphone")),
    ("bell", ("bell", "chime", "ding")),
    ("horn", ("horn", "honk", "train whistle", "foghorn")),
    ("whistle", ("whistle",)),
    ("alarm", ("alarm", "siren", "beep")),
    ("thunder", ("thunder", "lightning")),
    ("footsteps", ("footstep", "step", "walk", "running")),
    ("bark", ("bark", "dog", "woof")),
    ("click", ("click", "switch")),
    ("hiss", ("hiss", "brake", "steam", "static", "crackl", "spray")),
    ("metal", ("clang", "clink", "metal", "iron", "locker", r"tray\b", r"pans?\b", "cymbal", "trash can", "gate", "bin lid")),
)
CUE_AT = 0.45  # where in its line a cue is expected (fraction of the line's span; decision 108)
# How far from that point the cue is looked for (s): the aligner puts 75 % of lines' 45 % points
# within 0.05 s of the truth and 90 % within 0.35 s (sparse fitting clips); tonal cues stand out
# enough to search wider (decision 150: 0.25-0.7 s swept, 0.25-0.5 alike; tonal 0.8-2.5 alike).
SEARCH_S, TONAL_SEARCH_S = 0.35, 1.5
# 20 bands: one 31 Hz bin each up to 141 Hz (the shared 512-point spectrum's resolution), then 17
# log bands 1.27x wide to 7.9 kHz
BAND_EDGES = np.unique(np.concatenate([[47.0, 78.0, 109.0], np.geomspace(141.0, 7900.0, 18)]))
# the clip's own loud moments a cue is compared with (98th: the top ~0.4 s of a 20 s clip; 95-99.5
# alike on sparse fitting clips, decision 150)
CLIP_PERCENTILE = 98.0
TONE_HALF_WIDTH = 300.0  # Hz around a partial whose median is the partial's background
TOP_READINGS = 3  # readings per kind kept by the fit (2-4 swept: 2 and 3 alike, 4 worse; decision 150)
# A line without the cue (the median of such lines) scores at least this many played-cue spreads: a
# kind whose played cues vary widely (metal, thunder, impact) could otherwise never reach the cut the
# tonal kinds set (6-fold CV on sparse fitting clips: 1.5-3 alike, decision 150).
UNPLAYED_SPREADS = 2.0
# added to a reading's spread on lines without the cue (nats), so a near-constant reading cannot dominate
SPREAD_FLOOR = 0.3


def cue_kind(text: str) -> str:
    """The kind of sound a cue text describes ("impact" when no word matches)."""
    low = text.lower()
    for kind, words in CUE_WORDS:
        if any(re.search(rf"\b{w}", low) for w in words):
            return kind
    return "impact"


def _band_levels(media: ClipMedia) -> tuple[np.ndarray, np.ndarray]:
    """(log power per 20 ms frame and band, the same smoothed over 3 frames), whole clip (shared spectrum)."""

    def compute(m: ClipMedia) -> tuple[np.ndarray, np.ndarray]:
        from scipy.ndimage import uniform_filter1d

        spec, freqs = spectral_frames(m)
        edges = np.searchsorted(freqs, BAND_EDGES)  # bands are runs of consecutive bins
        power = spec[:, edges[0]: edges[-1]].astype(np.float32) ** 2
        bands = np.log(np.add.reduceat(power, edges[:-1] - edges[0], axis=1) / np.diff(edges) + 1e-10)
        return bands, uniform_filter1d(bands, 3, axis=0)

    return media.feature("cues:band_levels", compute)


def _running_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Mean over [j, j + n) for each start j (along axis 0)."""
    c = np.cumsum(np.concatenate([np.zeros((1,) + x.shape[1:], x.dtype), x]), axis=0)
    return (c[n:] - c[:-n]) / n


def _tone_levels(media: ClipMedia, kind: str) -> np.ndarray:
    """Per frame: the kind's partials over their neighbourhood (log power of the partial's peak bin
    within +-25 Hz minus the median over +-300 Hz without +-60 Hz), mean over partials."""

    def compute(m: ClipMedia) -> np.ndarray:
        spec, freqs = spectral_frames(m)
        parts = []
        for f in CUE_KINDS[kind][1]:
            lo, hi = np.searchsorted(freqs, [f - TONE_HALF_WIDTH, f + TONE_HALF_WIDTH + 1e-6])
            logp = np.log(spec[:, lo:hi] + 1e-5)  # log magnitude: half the log power, doubled below
            d = np.abs(freqs[lo:hi] - f)
            peak = logp[:, d <= 25.0].max(axis=1)
            parts.append(2.0 * (peak - np.median(logp[:, d > 60.0], axis=1)))
        return np.mean(parts, axis=0)

    return media.feature(f"cues:tone:{kind}", compute)


def cue_readings(media: ClipMedia, t0: float, kind: str, away: np.ndarray | None = None) -> np.ndarray | None:
    """How loud the clip gets near `t0` in the ways a cue of `kind` could be heard, against the clip's own loud moments.

    Per band (20 bands, 47 Hz-7.9 kHz): peak = the loudest 60 ms (3-frame mean) within
    +-`SEARCH_S` of t0; held = the loudest mean over the kind's length starting within that window;
    each minus the clip's 98th percentile of the same reading. Tonal kinds (searched +-1.5 s) add
    the partials' excess over their neighbourhood (`_tone_levels`) held over the kind's length,
    minus its 98th percentile and minus its median. The percentiles are taken over the frames where
    `away` is true (frames away from every scripted cue, `_away_from_cues`; all frames when None).
    40 or 42 values; None for a clip under 1 s.
    """
    bands, smooth = _band_levels(media)
    n = len(bands)
    duration, partials = CUE_KINDS[kind]
    length = max(1, int(round(duration / HOP_S)))
    if n < max(50, length + 2):
        return None
    reach = TONAL_SEARCH_S if partials else SEARCH_S
    a = int(np.clip(np.floor((t0 - reach) / HOP_S), 0, n - 1))
    b = int(np.clip(np.ceil((t0 + reach) / HOP_S), a + 1, n))
    keep = np.ones(n, bool) if away is None or away[:n].sum() < 50 else away[:n]
    peak = smooth[a: min(n, b + 3)].max(axis=0) - np.percentile(smooth[keep], CLIP_PERCENTILE, axis=0)
    held_all = _running_mean(bands, length)
    held_keep = keep[: len(held_all)] & keep[length - 1:]  # the whole stretch away from cues
    if held_keep.sum() < 10:
        held_keep = np.ones(len(held_all), bool)
    first = min(a, len(held_all) - 1)
    starts = slice(first, max(first + 1, min(b, len(held_all))))
    held = held_all[starts].max(axis=0) - np.percentile(held_all[held_keep], CLIP_PERCENTILE, axis=0)
    out = [peak, held]
    if partials:
        tone = _running_mean(_tone_levels(media, kind), length)
        best = tone[starts].max()
        quiet_tone = tone[held_keep]
        out.append(np.array([best - np.percentile(quiet_tone, CLIP_PERCENTILE), best - np.median(quiet_tone)]))
    return np.concatenate(out).astype(np.float64)


def _away_from_cues(media: ClipMedia, cues: list[tuple[float, str]]) -> np.ndarray:
    """Per 20 ms frame: outside every scripted cue's search window and length (`cues`: expected time, kind)."""
    n = len(_band_levels(media)[0])
    away = np.ones(n, bool)
    for t0, kind in cues:
        duration, partials = CUE_KINDS[kind]
        reach = TONAL_SEARCH_S if partials else SEARCH_S
        away[max(0, int((t0 - reach) / HOP_S)): max(0, int(np.ceil((t0 + reach + duration) / HOP_S)))] = False
    return away


def _expected(media: ClipMedia) -> list[tuple[int, float, str]]:
    """(line, expected time, kind) of each scripted cue whose line the aligner placed: 45 % into the line."""
    spans = {ls.index: ls.span or ls.slot for ls in align_lines(media)}
    out = []
    for cue in media.scene.atmosphere.sounds:
        span = spans.get(cue.at_line)
        if span is not None:
            out.append((cue.at_line, span.start + CUE_AT * (span.end - span.start), cue_kind(cue.cue)))
    return out


def _model(path: str | None = None) -> dict:
    return (load_model(str(path or MODEL)) or {}).get("cues", {})


def cue_strengths(media: ClipMedia, path: str | None = None) -> list[tuple[int, float, str, float]]:
    """(line, expected time, kind, missing score) per scripted cue whose line the aligner placed.

    The cue is expected at 45 % of its aligned line (its slot when the line is silent). The kind's
    fitted readings (`fit_cue_reference`) are summed, each over its spread on lines without the
    cue; the score is how far that sum falls under the played cues' median, in units of their
    spread: about 0 or below when the cue plays, several units when it is missing. Kinds without a
    fitted model are not scored.
    """
    scene = media.scene
    if scene is None or not scene.atmosphere.sounds:
        return []
    models = _model(path)
    expected = _expected(media)
    away = _away_from_cues(media, [(t0, kind) for _, t0, kind in expected])
    out = []
    for line, t0, kind in expected:
        model = models.get(kind)
        x = None if model is None else cue_readings(media, t0, kind, away)
        if x is not None:
            out.append((line, t0, kind, _missing_score(x, model)))
    return out


def _missing_score(x: np.ndarray, model: dict) -> float:
    idx = np.asarray(model["readings"])
    s = float(((x[idx] - np.asarray(model["null_mean"])) / np.asarray(model["null_sd"])).sum())
    return (model["played"] - s) / model["played_sd"]


def _training_rows(samples: Iterable[tuple]) -> dict[str, list[tuple[np.ndarray, bool]]]:
    """Per cue kind: (readings, played) at 45 % of every aligned line of scenes with a cue of that kind.

    Played = a cue of that kind plays on the line; lines where a cue of another kind plays are left
    out; every other line (no cue, or its cue left out by a fault) is a line without the cue.
    """
    rows: dict[str, list[tuple[np.ndarray, bool]]] = {}
    for media, manifest in samples:
        scene = media.scene
        if scene is None or not scene.atmosphere.sounds:
            continue
        left_out = {f.params.get("cue") for f in manifest.faults if f.fault == "missing_sound_cue"}
        played = {cue.at_line: cue_kind(cue.cue) for k, cue in enumerate(scene.atmosphere.sounds) if k not in left_out}
        kinds = {cue_kind(cue.cue) for cue in scene.atmosphere.sounds}
        away = _away_from_cues(media, [(t0, kind) for _, t0, kind in _expected(media)])
        for ls in align_lines(media):
            span = ls.span or ls.slot
            if span is None:
                continue
            t0 = span.start + CUE_AT * (span.end - span.start)
            for kind in kinds:
                if played.get(ls.index, kind) != kind:
                    continue
                x = cue_readings(media, t0, kind, away)
                if x is not None:
                    rows.setdefault(kind, []).append((x, played.get(ls.index) == kind))
    return rows


def fit_cue_reference(samples: Iterable[tuple], out: Path = MODEL) -> dict:
    """Per cue kind, which readings tell a played cue from its absence, fitted on `(media, manifest)` fitting clips.

    For each reading, its separation = (mean on played lines - mean on lines without the cue) /
    (spread without the cue + `SPREAD_FLOOR`); the `TOP_READINGS` best are kept, each scaled by
    that spread; their sum's median and spread on played lines calibrate the score (the spread kept
    between a tenth and half of the gap to the median line without the cue, `UNPLAYED_SPREADS`).
    Written under "cues" in the model file (the music models are kept). Only fitting clips'
    manifests are read (which cue was left out).
    """
    models: dict[str, dict] = {}
    for kind, rows in sorted(_training_rows(samples).items()):
        X = np.array([x for x, _ in rows])
        y = np.array([p for _, p in rows])
        if y.sum() < 2 or (~y).sum() < 5:
            continue
        mean0, sd0 = X[~y].mean(axis=0), X[~y].std(axis=0) + SPREAD_FLOOR
        top = np.argsort((X[y].mean(axis=0) - mean0) / sd0)[-TOP_READINGS:]
        s = ((X[:, top] - mean0[top]) / sd0[top]).sum(axis=1)
        played, unplayed = float(np.median(s[y])), float(np.median(s[~y]))
        gap = max(played - unplayed, 0.2)
        spread = min(max(float(s[y].std()), 0.1 * gap), gap / UNPLAYED_SPREADS)
        models[kind] = {"readings": [int(i) for i in top], "null_mean": mean0[top].round(4).tolist(),
                        "null_sd": sd0[top].round(4).tolist(), "played": round(played, 4),
                        "played_sd": round(spread, 4), "unplayed": round(unplayed, 4),
                        "cues": int(y.sum()), "lines": int((~y).sum())}
    model = dict(load_model(str(out)) or {})
    model["cues"] = models
    out.write_text(json.dumps(model, indent=1), encoding="utf-8")
    load_model.cache_clear()
    return models


@probe("cues", ("sd.missing_scripted_sound",))
def scripted_sounds(media: ClipMedia) -> list[ModeScore]:
    """Per line with a sound cue, how far the clip's loudest moments near the cue's expected time, in
    the readings fitted for that kind of sound, fall under a played cue's (`cue_strengths`,
    decision 150); the line's largest such score over its cues."""
    missing, windows = {}, []
    for i, t0, kind, score in cue_strengths(media):
        missing[i] = max(missing.get(i, -np.inf), score)
        windows.append((t0 - 0.2, t0 + CUE_KINDS[kind][0], score))
    return [ModeScore("sd.missing_scripted_sound", max(missing.values()) if missing else None, missing, windows)]
