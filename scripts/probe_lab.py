"""Probe lab: score some probe modes on the fitting and held-out clip sets, fit cuts, report held-out figures.

A developer's loop for one probe family, much cheaper than `fit-probes` + `judges evaluate` (which run
every probe): only the probes covering `--modes` run, on the four clip sets of the probe judge's
evaluation design (decisions 084, 109):

    fit         procedural:sparse, seeds 0-11     (528 clips; cuts are fitted here, as `fit-probes` does)
    clean_fit   procedural:clean,  seeds 3000-3001 (88 clips; false positives capped at 4 % here, decision 174)
    test        procedural:sparse, seeds 1000-1005 (264 clips; held out)
    clean_test  procedural:clean,  seed 2000       (88 clips; held out)

    .venv/bin/python scripts/probe_lab.py --modes sf.lip_sync_offset,sd. [--store /work/store] [--workers 2]

Modes may be given by prefix (`sd.` = every sound-design mode). Rows (one per yes/no item with gold:
set, clip, line, score, gold) are written to `--rows` as JSON for further analysis. Uses the same
`fit_threshold` as `mtavg judges fit-probes`, with its default caps.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SETS = {
    "fit": ("procedural:sparse", 0, 528),
    "clean_fit": ("procedural:clean", 3000, 88),
    "test": ("procedural:sparse", 1000, 264),
    "clean_test": ("procedural:clean", 2000, 88),
}


def plan(set_name: str, suite: str = "default", limit: int | None = None) -> list[tuple[str, str, int]]:
    """(generator spec, scene id, seed) of each clip of a named set (scenes in turn, a new seed per round)."""
    from scenes import load_suite

    generator, seed0, count = SETS[set_name]
    count = min(count, limit) if limit else count
    scenes = [s.id for s in load_suite(suite).scenes]
    return [(generator, scenes[k % len(scenes)], seed0 + k // len(scenes)) for k in range(count)]


def open_clip(generator: str, scene_id: str, seed: int, store_url: str, suite: str = "default", fps: float = 12.5,
              size: tuple[int, int] = (320, 180), luma_width: int | None = 640):
    """Render (or reuse) one clip; returns (ClipMedia, manifest, scene, ClipTruth)."""
    from diagnosers.media import ClipMedia
    from flows.work import render_clip, store_for, suite_for
    from generators.base import Clip
    from taxonomy.qa import ClipTruth

    ref = render_clip(generator, suite, scene_id, seed, store_url)
    store = store_for(store_url)
    manifest = Clip.model_validate(store.get_json(ref.manifest_key))
    scene = suite_for(suite).scene(scene_id)
    media = ClipMedia(store.local_path(ref.video_key), scene, sha256=ref.sha256, fps=fps, size=size,
                      luma_width=luma_width)
    return media, manifest, scene, ClipTruth.from_manifest(manifest)


def score_clip(args: tuple) -> list[dict]:
    """Rows for one clip: every yes/no item with gold on the chosen modes, with the probe's score."""
    set_name, generator, scene_id, seed, store_url, modes = args
    from diagnosers.probes import measure_all
    from taxonomy.items import Format
    from taxonomy.qa import labelled_items

    media, manifest, scene, truth = open_clip(generator, scene_id, seed, store_url)
    items = [i for i in labelled_items(scene, truth, {Format.yes_no}) if i.modes[0] in modes]
    if not items:
        return []
    scores = measure_all(media, {i.modes[0] for i in items})
    rows = []
    for item in items:
        ms = scores.get(item.modes[0])
        line = item.slot.get("line")
        if ms is None:
            score = None
        else:
            score = ms.line_score(int(line)) if line is not None else ms.score
        rows.append({"set": set_name, "scene": scene_id, "seed": seed, "mode": item.modes[0], "line": line,
                     "score": None if score is None else float(score), "gold": item.gold.is_yes})
    return rows


def collect(modes: set[str], sets: list[str], store_url: str, workers: int, limit: int | None = None) -> list[dict]:
    jobs = [(s, g, sid, seed, store_url, modes) for s in sets for g, sid, seed in plan(s, limit=limit)]
    if workers <= 1:
        chunks = [score_clip(j) for j in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            chunks = list(pool.map(score_clip, jobs, chunksize=4))
    return [r for c in chunks for r in c]


def auc(pos: list[float], neg: list[float]) -> float | None:
    import numpy as np

    if not pos or not neg:
        return None
    p, n = np.asarray(pos), np.asarray(neg)
    return float(((p[:, None] > n[None, :]).sum() + 0.5 * (p[:, None] == n[None, :]).sum()) / (len(p) * len(n)))


def report(rows: list[dict], max_fpr: float = 0.10, max_clean_fpr: float | None = None) -> list[dict]:
    """Per (mode, line level): fitting AUC and cut, held-out balanced accuracy, clean false positives
    (`max_clean_fpr`: the `fit-probes` default, `MAX_CLEAN_FPR`, unless given)."""
    from diagnosers.evaluation import MAX_CLEAN_FPR, fit_threshold

    max_clean_fpr = MAX_CLEAN_FPR if max_clean_fpr is None else max_clean_fpr

    keys = sorted({(r["mode"], r["line"] is not None) for r in rows})
    out = []
    for mode, is_line in keys:
        sel = [r for r in rows if r["mode"] == mode and (r["line"] is not None) == is_line]

        def pick(s, gold=None):
            return [r for r in sel if r["set"] == s and (gold is None or r["gold"] == gold)]

        fit_pairs = [(r["score"], r["gold"]) for r in pick("fit") if r["score"] is not None]
        clean_fit = [r["score"] for r in pick("clean_fit") if r["score"] is not None and not r["gold"]]
        fit = fit_threshold(fit_pairs, max_fpr=max_fpr, clean=clean_fit or None, max_clean_fpr=max_clean_fpr)
        row = {"mode": mode, "line": is_line,
               "fit_auc": auc([s for s, y in fit_pairs if y], [s for s, y in fit_pairs if not y]),
               "threshold": fit and fit["threshold"], "fit_ba": fit and fit["train_balanced_accuracy"]}
        test = pick("test")
        pos = [r for r in test if r["gold"]]
        neg = [r for r in test if not r["gold"]]
        row["test_auc"] = auc([r["score"] for r in pos if r["score"] is not None], [r["score"] for r in neg if r["score"] is not None])
        row["positives"], row["negatives"] = len(pos), len(neg)
        answered = [r for r in test if r["score"] is not None]
        row["coverage"] = len(answered) / len(test) if test else None
        if fit:
            thr = fit["threshold"]
            tp = sum(1 for r in pos if r["score"] is not None and r["score"] > thr)
            fn = sum(1 for r in pos if r["score"] is not None and r["score"] <= thr)
            fp = sum(1 for r in neg if r["score"] is not None and r["score"] > thr)
            tn = sum(1 for r in neg if r["score"] is not None and r["score"] <= thr)
            sens = tp / (tp + fn) if tp + fn else None
            spec = tn / (tn + fp) if tn + fp else None
            row.update(sens=sens, spec=spec, ba=(sens + spec) / 2 if sens is not None and spec is not None else None)
            clean = [r["score"] for r in pick("clean_test") if r["score"] is not None and not r["gold"]]
            row["clean_fp"] = f"{sum(1 for s in clean if s > thr)}/{len(clean)}"
        out.append(row)
    return out


def print_report(table: list[dict]) -> None:
    def f(x):
        return "-" if x is None else (f"{x:.3f}" if isinstance(x, float) else str(x))

    print(f"{'mode':44s} {'fitAUC':>6s} {'fitBA':>6s} {'testAUC':>7s} {'pos':>4s} {'neg':>5s} {'sens':>6s} {'spec':>6s} {'BA':>6s} {'cov':>5s} clean_fp")
    for r in table:
        name = r["mode"] + (" (line)" if r["line"] else "")
        print(f"{name:44s} {f(r['fit_auc']):>6s} {f(r['fit_ba']):>6s} {f(r['test_auc']):>7s} {r['positives']:4d} {r['negatives']:5d} "
              f"{f(r.get('sens')):>6s} {f(r.get('spec')):>6s} {f(r.get('ba')):>6s} {f(r['coverage']):>5s} {r.get('clean_fp', '-')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modes", required=True, help="comma-separated mode ids or prefixes (sd., sf.lip_sync_offset)")
    parser.add_argument("--sets", default="fit,clean_fit,test,clean_test")
    parser.add_argument("--store", default=os.environ.get("MTAVG_STORE", "/work/store"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="at most this many clips per set (quick looks)")
    parser.add_argument("--rows", default=None, help="write the rows here (JSON)")
    parser.add_argument("--from-rows", default=None, help="report on rows written earlier instead of measuring")
    args = parser.parse_args()
    os.environ.setdefault("MTAVG_PROBE_THREADS", "1")
    from diagnosers.probes import measured_modes

    wanted = [m.strip() for m in args.modes.split(",") if m.strip()]
    modes = {m for m in measured_modes() if any(m == w or (w.endswith(".") and m.startswith(w)) or m.startswith(w) for w in wanted)}
    if not modes:
        sys.exit(f"no probe measures {args.modes}")
    started = time.perf_counter()
    if args.from_rows:
        rows = [r for r in json.loads(Path(args.from_rows).read_text()) if r["mode"] in modes]
    else:
        rows = collect(modes, args.sets.split(","), args.store, args.workers, args.limit)
    if args.rows:
        Path(args.rows).write_text(json.dumps(rows))
    print_report(report(rows))
    print(f"({len(rows)} rows in {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
