"""Probe judge accuracy on clips the renderer did not make in that form: re-encoded, resized, trimmed, noisy...

    .venv/bin/python benchmarks/robustness.py [--clips 88] [--seed-start 1000] [--generator procedural:sparse]
        [--variants all|name,name] [--workers 2] [--json out.json]

Renders (or reuses) held-out labelled clips, applies each perturbation with the system's ffmpeg, and
answers the same gold yes/no items on every variant with the probe judge (no verdict cache). Prints, per
variant, yes/no accuracy and how many modes reach balanced accuracy >= 0.90, then per mode the
balanced accuracy on each variant. Trimming shifts every time by 0.3 s, so only yes/no items are asked.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHORD = "0.03*sin(2*PI*220*t)+0.03*sin(2*PI*277.2*t)+0.03*sin(2*PI*329.6*t)+0.02*sin(2*PI*110*t)"
# name -> (ffmpeg input options, output options); {d} is the clip's duration
VARIANTS: dict[str, tuple[list[str], list[str]]] = {
    "as rendered": ([], []),
    "re-encoded (x264 CRF 36, AAC 48 kb/s)": ([], ["-c:v", "libx264", "-crf", "36", "-preset", "veryfast", "-c:a", "aac", "-b:a", "48k"]),
    "resized to 426x240": ([], ["-vf", "scale=426:240", "-c:v", "libx264", "-crf", "23", "-preset", "veryfast", "-c:a", "copy"]),
    # the fps filter keeps each frame's content at its timestamp (within half a frame); ffmpeg's `-r 24`
    # output option shows content 48-87 ms older than the timestamps (measured by matching frames against
    # the source), a real ~70 ms A/V offset that the lip-sync probe rightly reads as a lag
    "24 fps, 44.1 kHz audio": ([], ["-vf", "fps=24", "-c:v", "libx264", "-crf", "23", "-preset", "veryfast", "-ar", "44100", "-c:a", "aac"]),
    "trimmed 0.3 s at both ends": (["-ss", "0.3"], ["-t", "{t}", "-c:v", "libx264", "-crf", "23", "-preset", "veryfast", "-c:a", "aac"]),
    "white noise added (amplitude 0.03)": ([], [
        "-filter_complex", "anoisesrc=color=white:amplitude=0.03:sample_rate=48000:seed=7[n];[0:a][n]amix=inputs=2:duration=first:normalize=0[a]",
        "-map", "0:v", "-map", "[a]", "-c:v", "copy", "-c:a", "aac"]),
    "music added (chord, amplitude 0.1)": ([], [
        "-filter_complex", f"aevalsrc='{CHORD}':s=48000[m];[0:a][m]amix=inputs=2:duration=first:normalize=0[a]",
        "-map", "0:v", "-map", "[a]", "-c:v", "copy", "-c:a", "aac"]),
}


def perturb(src: Path, variant: str, out_dir: Path, duration: float) -> Path:
    """The clip as `variant` (made once per clip and variant)."""
    if variant == "as rendered":
        return src
    pre, post = VARIANTS[variant]
    out = out_dir / f"{src.parent.name}-{list(VARIANTS).index(variant)}.mp4"
    if not out.exists():
        post = [p.replace("{t}", f"{max(0.5, duration - 0.6):.3f}") for p in post]
        tmp = out.with_suffix(".part.mp4")
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *pre, "-i", str(src), *post, str(tmp)], check=True)
        tmp.replace(out)
    return out


def judge_clip(generator: str, suite_ref: str, scene_id: str, seed: int, store_url: str, variants: list[str],
               out_dir: str) -> dict:
    from diagnosers import build_judge
    from diagnosers.media import ClipMedia
    from flows.work import render_clip, store_for, suite_for
    from generators.base import Clip
    from taxonomy.items import Format
    from taxonomy.qa import ClipTruth, labelled_items

    ref = render_clip(generator, suite_ref, scene_id, seed, store_url)
    store = store_for(store_url)
    truth = ClipTruth.from_manifest(Clip.model_validate(store.get_json(ref.manifest_key)))
    scene = suite_for(suite_ref).scene(scene_id)
    items = labelled_items(scene, truth, {Format.yes_no})
    judge = build_judge("probes")
    src = Path(store.local_path(ref.video_key))
    out = {}
    for v in variants:
        path = perturb(src, v, Path(out_dir), ref.duration_s)
        media = ClipMedia(path, scene, **judge.media_options)
        verdicts = judge.answer(media, items)
        out[v] = [v_.model_dump(mode="json") for v_ in verdicts]
    return {"items": [i.model_dump(mode="json") for i in items], "verdicts": out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=88)
    parser.add_argument("--seed-start", type=int, default=1000)
    parser.add_argument("--generator", default="procedural:sparse")
    parser.add_argument("--suite", default="default")
    parser.add_argument("--store", default=None, help="store URL (default $MTAVG_STORE or ./.mtavg/store)")
    parser.add_argument("--variants", default="all")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        sys.exit("robustness: needs the ffmpeg program (scripts/setup.sh installs it)")

    from diagnosers.base import Verdict
    from diagnosers.evaluation import Report, score_verdicts
    from flows.commands.judges import _plan
    from storage import default_store_url
    from taxonomy.items import QAItem

    variants = list(VARIANTS) if args.variants == "all" else [v for v in VARIANTS if any(v.startswith(n) for n in args.variants.split(","))]
    store_url = args.store or default_store_url()
    out_dir = tempfile.mkdtemp(prefix="mtavg-robust-")
    plan = _plan(args.suite, args.clips, args.seed_start)
    call = [(args.generator, args.suite, s, seed, store_url, variants, out_dir) for s, seed in plan]
    # spawned workers: a forked child of this process can hang on a lock inherited mid-use
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(judge_clip, *zip(*call)))
    shutil.rmtree(out_dir, ignore_errors=True)

    reports = {v: Report("probes", "") for v in variants}
    for res in results:
        items = [QAItem.model_validate(i) for i in res["items"]]
        for v in variants:
            reports[v].records.extend(score_verdicts(items, [Verdict.model_validate(x) for x in res["verdicts"][v]]))
    table = {}
    print(f"{len(results)} clips of {args.suite} by {args.generator}, seeds from {args.seed_start}; yes/no items only")
    print(f"{'variant':42s} {'yes/no acc.':>11s} {'modes >= 0.90':>13s}")
    for v, rep in reports.items():
        scored = [r.score for r in rep.records if r.score is not None]
        modes = rep.modes()
        good = sum(1 for m in modes.values() if (m.balanced_accuracy or 0) >= 0.90)
        acc = sum(scored) / len(scored) if scored else float("nan")
        table[v] = {"yes_no_accuracy": round(acc, 4), "modes_ge_0_90": good,
                    "balanced_accuracy": {k: m.balanced_accuracy for k, m in modes.items()}}
        print(f"{v:42s} {acc:11.3f} {good:13d}")
    modes = sorted({m for t in table.values() for m in t["balanced_accuracy"]})
    print("\nbalanced accuracy per mode (columns in the order above)")
    for m in modes:
        row = [table[v]["balanced_accuracy"].get(m) for v in variants]
        print(f"{m:42s} " + " ".join("   -" if x is None else f"{x:.2f}" for x in row))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"clips": len(results), "variants": table}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
