"""Scripted sound cues: whether each sound the script asks for (a door slam, a phone ring) is heard.

A scripted sound punctuates its line: in its own frequency bands it is among the loudest moments
of the clip. The probe reads, near where the aligner puts the cue's line, how loud the clip gets in
20 bands (a short peak and a level held for the cue's length) against the 98th percentile of the
same reading over the rest of the clip (away from every scripted cue), plus, for tonal kinds, how
far the kind's partials stand over the neighbouring frequencies, for metal how strongly narrow
partials at any frequency start to ring, for footsteps how strongly low thumps keep a 0.5 s beat.
Which of those readings tell a played cue of a kind from its absence is learned on fitting clips
(`fit_cue_reference`: the 3 readings that separate played cues from lines without them best, per
kind, decision 150, with the evidence of kinds that sound alike pooled and one scale for every
kind, decision 185; the metal ring counts partials that start to ring, decision 200).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.align import align_lines
from diagnosers.probes.base import ModeScore, load_model, probe
from diagnosers.probes.cue_kinds import CUE_FAMILIES, CUE_KINDS, cue_kind
from diagnosers.probes.features import HOP_S, spectral_frames
from diagnosers.probes.soundscape import MODEL

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
# Kinds that ring: a hit leaves narrow partials at frequencies no script names, held while they
# decay (metal: "a hit with ringing mid-high partials"). The ring reading: per 20 ms frame, the
# RING_PEAKS strongest spectral lines in RING_RANGE_HZ that start ringing: each line's excess over
# the bins 3-10 away, held RING_HOLD_FRAMES frames (one bin of drift allowed), minus the same
# bin's held excess RING_RISE_FRAMES earlier, so a steady tone (hum, a feedback whine, a held
# note) does not read as a ring. Within metal scenes, played cues against lines without them
# (fitting sets: 45 / 223 sparse, 16 / 72 clean): AUC 0.874 / 0.899 against 0.843 / 0.800 for
# the held excess alone (hold 8; decision 185); holds 10-12 with 6-10 frames back alike, 15-20
# frames back or a 16-frame hold worse (decision 200).
RING_KINDS = frozenset({"metal"})
RING_RANGE_HZ = (500.0, 4000.0)
RING_HOLD_FRAMES = 12
RING_RISE_FRAMES = 10
RING_PEAKS = 3
# Kinds that step: soft low thumps at a steady pace (footsteps: "0.5 s apart", as many as the
# kind's length holds: 4). The step reading: the 47-955 Hz level (the 11 lowest bands) on the beats
# minus half-way between them. Within footsteps scenes of the fitting sets (28 played cues, 142
# lines without): AUC 0.84 alone, the thump readings 0.80; up to 367 Hz only: 0.78 (decision 185).
STEP_KINDS = frozenset({"footsteps"})
STEP_INTERVAL_S = 0.5
STEP_BANDS = 11
TOP_READINGS = 3  # readings per kind kept by the fit (2-4 swept: 2 and 3 alike, 4 worse; decision 150)
# A reading's separation for a kind is shrunk toward its family's (weighted by played cues) as if
# this many more played cues read the family's: 4 of the 18 kinds have 6 or fewer played cues on the
# fitting clips (seed-fold and scene-fold CV on sparse fitting clips: 5-20 alike, 0 worse; decision 185).
FAMILY_CUES = 10.0
# A line without the cue (the median of such lines) scores this many units over a played cue (the
# median of played ones); one unit = this fraction of the gap between the two medians, the same for
# every kind: a spread of a kind's few played cues is too noisy to set its scale (decision 185; the
# former spread of played cues, capped at half the gap, decision 150).
UNPLAYED_SPREADS = 2.0
# added to a reading's spread on lines without the cue (nats), so a near-constant reading cannot dominate
SPREAD_FLOOR = 0.3


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


def _percentile(x: np.ndarray, q: float) -> np.ndarray:
    """`np.percentile(x, q, axis=0)` (linear interpolation) from two order statistics: a partial
    sort, without np.percentile's per-call overhead (half of this probe's time before; decision 185)."""
    pos = (len(x) - 1) * q / 100.0
    lo = int(np.floor(pos))
    hi = min(lo + 1, len(x) - 1)
    part = np.partition(x, [lo, hi], axis=0)
    return part[lo] + (pos - lo) * (part[hi] - part[lo])


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


def _ring_levels(media: ClipMedia) -> np.ndarray:
    """Per frame: mean of the `RING_PEAKS` strongest rises of held spectral lines in `RING_RANGE_HZ`
    (log power excess held from this frame on, minus the same bin's `RING_RISE_FRAMES` earlier when positive)."""

    def compute(m: ClipMedia) -> np.ndarray:
        from scipy.ndimage import uniform_filter1d

        spec, freqs = spectral_frames(m)
        top = int(np.searchsorted(freqs, RING_RANGE_HZ[1] + 500.0))  # room for the neighbourhood
        logp = np.log(spec[:, :top].astype(np.float32) + 1e-5)
        around = (uniform_filter1d(logp, 21, axis=1) * 21 - uniform_filter1d(logp, 5, axis=1) * 5) / 16
        excess = np.pad(logp - around, ((0, 0), (1, 1)), mode="symmetric")
        excess = np.maximum(np.maximum(excess[:, :-2], excess[:, 1:-1]), excess[:, 2:])  # one bin of drift
        n, hold = len(excess), RING_HOLD_FRAMES
        ahead = np.pad(excess, ((0, hold - 1), (0, 0)), mode="symmetric")
        held = excess.copy()
        for k in range(1, hold):  # the least excess over the next `hold` frames
            np.minimum(held, ahead[k: k + n], out=held)
        inside = (freqs[:top] >= RING_RANGE_HZ[0]) & (freqs[:top] <= RING_RANGE_HZ[1])
        held = held[:, inside]
        before = np.pad(held, ((RING_RISE_FRAMES, 0), (0, 0)), mode="edge")[:n]
        rise = held - np.maximum(before, 0.0)
        return np.partition(rise, -RING_PEAKS, axis=1)[:, -RING_PEAKS:].mean(axis=1)

    return media.feature("cues:ring", compute)


def _step_levels(media: ClipMedia, kind: str) -> np.ndarray:
    """Per start frame: the low bands' level on the kind's beats minus half-way between them (log power)."""

    def compute(m: ClipMedia) -> np.ndarray:
        low = _band_levels(m)[1][:, :STEP_BANDS].mean(axis=1)
        step = int(round(STEP_INTERVAL_S / HOP_S))
        beats = 1 + int(CUE_KINDS[kind][0] / STEP_INTERVAL_S + 1e-9)
        starts = len(low) - (beats - 1) * step
        if starts <= 0:
            return np.zeros(0, np.float32)
        on = sum(low[k * step: k * step + starts] for k in range(beats)) / beats
        off = sum(low[k * step + step // 2: k * step + step // 2 + starts] for k in range(beats - 1)) / (beats - 1)
        return on - off

    return media.feature(f"cues:steps:{kind}", compute)


def cue_readings(media: ClipMedia, t0: float, kind: str, away: np.ndarray | None = None) -> np.ndarray | None:
    """How loud the clip gets near `t0` in the ways a cue of `kind` could be heard, against the clip's own loud moments.

    Per band (20 bands, 47 Hz-7.9 kHz): peak = the loudest 60 ms (3-frame mean) within
    +-`SEARCH_S` of t0; held = the loudest mean over the kind's length starting within that window;
    each minus the clip's 98th percentile of the same reading. Tonal kinds (searched +-1.5 s) add
    the partials' excess over their neighbourhood (`_tone_levels`) held over the kind's length,
    minus its 98th percentile and minus its median; ringing kinds (`RING_KINDS`) add the loudest
    ring (`_ring_levels`) within +-`SEARCH_S` minus its 98th percentile, stepping kinds
    (`STEP_KINDS`) the strongest beat (`_step_levels`) starting there, minus its 98th percentile. The percentiles are taken
    over the frames where `away` is true (frames away from every scripted cue, `_away_from_cues`;
    all frames when None). 40, 41 or 42 values; None for a clip under 1 s.
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
    peak = smooth[a: min(n, b + 3)].max(axis=0) - _percentile(smooth[keep], CLIP_PERCENTILE)
    held_all = _running_mean(bands, length)
    held_keep = keep[: len(held_all)] & keep[length - 1:]  # the whole stretch away from cues
    if held_keep.sum() < 10:
        held_keep = np.ones(len(held_all), bool)
    first = min(a, len(held_all) - 1)
    starts = slice(first, max(first + 1, min(b, len(held_all))))
    held = held_all[starts].max(axis=0) - _percentile(held_all[held_keep], CLIP_PERCENTILE)
    out = [peak, held]
    if partials:
        tone = _running_mean(_tone_levels(media, kind), length)
        best = tone[starts].max()
        quiet_tone = tone[held_keep]
        out.append(np.array([best - _percentile(quiet_tone, CLIP_PERCENTILE), best - _percentile(quiet_tone, 50.0)]))
    if kind in RING_KINDS:
        ring = _ring_levels(media)
        out.append(np.array([ring[a:b].max() - _percentile(ring[keep], CLIP_PERCENTILE)]))
    if kind in STEP_KINDS:
        steps = _step_levels(media, kind)
        m = len(steps)
        step_keep = keep[:m] if keep[:m].sum() >= 10 else np.ones(m, bool)
        out.append(np.array([steps[a: min(b, m)].max() - _percentile(steps[step_keep], CLIP_PERCENTILE) if a < m else 0.0]))
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
    cue; the score is how far that sum falls under the played cues' median, in units of half the
    gap to the median line without the cue: about 0 or below when the cue plays, about 2 when it is
    missing. Kinds without a fitted model are not scored.
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
    return (model["played"] - s) / model["unit"]


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


def shrunk_separations(kinds: dict[str, tuple[int, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per kind (played cues, separation per reading): the separations shrunk toward the kind's
    family's mean (weighted by played cues) as if `FAMILY_CUES` more cues read the family's. The
    family's kinds share their first readings (the 40 band readings); a reading only some kinds have
    (tone, ring) is pooled over those."""
    width = max((len(sep) for _, sep in kinds.values()), default=0)
    family_sum: dict[str, np.ndarray] = {}
    family_cues: dict[str, np.ndarray] = {}
    for kind, (cues, sep) in kinds.items():
        family = CUE_FAMILIES.get(kind, kind)
        family_sum.setdefault(family, np.zeros(width))[: len(sep)] += cues * sep
        family_cues.setdefault(family, np.zeros(width))[: len(sep)] += cues
    out = {}
    for kind, (cues, sep) in kinds.items():
        family = CUE_FAMILIES.get(kind, kind)
        pooled = family_sum[family][: len(sep)] / family_cues[family][: len(sep)]
        out[kind] = (cues * sep + FAMILY_CUES * pooled) / (cues + FAMILY_CUES)
    return out


def fit_cue_reference(samples: Iterable[tuple], out: Path = MODEL) -> dict:
    """Per cue kind, which readings tell a played cue from its absence, fitted on `(media, manifest)` fitting clips.

    For each reading, its separation = (mean on played lines - mean on lines without the cue) /
    (spread without the cue + `SPREAD_FLOOR`), shrunk toward the mean separation of the kind's
    family (`CUE_FAMILIES`, weighted by played cues; `FAMILY_CUES`); the `TOP_READINGS` best are
    kept, each scaled by that spread. Their sum's median on played lines and on lines without the
    cue set the score's zero and scale (`UNPLAYED_SPREADS`). Written under "cues" in the model file
    (the music models are kept). Only fitting clips' manifests are read (which cue was left out).
    """
    stats = {}
    for kind, rows in sorted(_training_rows(samples).items()):
        X = np.array([x for x, _ in rows])
        y = np.array([p for _, p in rows])
        if y.sum() < 2 or (~y).sum() < 5:
            continue
        mean0, sd0 = X[~y].mean(axis=0), X[~y].std(axis=0) + SPREAD_FLOOR
        stats[kind] = (X, y, mean0, sd0, (X[y].mean(axis=0) - mean0) / sd0)
    shrunk = shrunk_separations({kind: (int(st[1].sum()), st[4]) for kind, st in stats.items()})
    models: dict[str, dict] = {}
    for kind, (X, y, mean0, sd0, _) in stats.items():
        top = np.argsort(shrunk[kind])[-TOP_READINGS:]
        s = ((X[:, top] - mean0[top]) / sd0[top]).sum(axis=1)
        played, unplayed = float(np.median(s[y])), float(np.median(s[~y]))
        gap = max(played - unplayed, 0.2)
        models[kind] = {"readings": [int(i) for i in top], "null_mean": mean0[top].round(4).tolist(),
                        "null_sd": sd0[top].round(4).tolist(), "played": round(played, 4),
                        "unit": round(gap / UNPLAYED_SPREADS, 4), "unplayed": round(unplayed, 4),
                        "cues": int(y.sum()), "lines": int((~y).sum())}
    model = dict(load_model(str(out)) or {})
    model["cues"] = models
    out.write_text(json.dumps(model, indent=1), encoding="utf-8")
    load_model.cache_clear()
    return models


@probe("cues", ("sd.missing_scripted_sound",), sound_only=True)
def scripted_sounds(media: ClipMedia) -> list[ModeScore]:
    """Per line with a sound cue, how far the clip's loudest moments near the cue's expected time, in
    the readings fitted for that kind of sound, fall under a played cue's (`cue_strengths`,
    decision 150); the line's largest such score over its cues."""
    missing, windows = {}, []
    for i, t0, kind, score in cue_strengths(media):
        missing[i] = max(missing.get(i, -np.inf), score)
        windows.append((t0 - 0.2, t0 + CUE_KINDS[kind][0], score))
    return [ModeScore("sd.missing_scripted_sound", max(missing.values()) if missing else None, missing, windows)]
