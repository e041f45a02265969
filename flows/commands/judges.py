"""`mtavg judges`: list judges, evaluate a judge on labelled clips, fit the probe thresholds."""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import typer

from diagnosers.evaluation import DEFAULT_FITTING_CLIPS, DEFAULT_LABELLED_CLIPS, MAX_CLEAN_FPR
from flows.commands.common import console, fail, print_json

judges_app = typer.Typer(help="Judges: list them, evaluate them on labelled clips, fit probe thresholds.", no_args_is_help=True)


def _plan(suite_ref: str, clips: int, seed_start: int) -> list[tuple[str, int]]:
    """(scene id, seed) for each labelled clip: scenes in turn, a new seed per round."""
    from scenes import load_suite

    scenes = [s.id for s in load_suite(suite_ref).scenes]
    return [(scenes[k % len(scenes)], seed_start + k // len(scenes)) for k in range(clips)]


def evaluate_one(judge_spec: str, generator_spec: str, suite_ref: str, scene_id: str, seed: int, store_url: str) -> dict[str, Any]:
    """Render (or reuse) one labelled clip, answer its gold items, return JSON-able records."""
    from diagnosers.media import ClipMedia
    from diagnosers.runner import diagnose_clip
    from flows.work import judge_for, render_clip, store_for, suite_for
    from generators.base import Clip
    from taxonomy.qa import ClipTruth, labelled_items

    ref = render_clip(generator_spec, suite_ref, scene_id, seed, store_url)
    store = store_for(store_url)
    manifest = Clip.model_validate(store.get_json(ref.manifest_key))
    if manifest.status.value != "ok":
        return {"scene": scene_id, "seed": seed, "records": [], "skipped": manifest.failure}
    scene = suite_for(suite_ref).scene(scene_id)
    truth = ClipTruth.from_manifest(manifest)
    items = labelled_items(scene, truth)
    judge = judge_for(judge_spec, store_url)
    options = dict(getattr(judge, "media_options", None) or {})
    media = ClipMedia(store.local_path(ref.video_key), scene, sha256=ref.sha256, **options)
    started = time.perf_counter()
    # through the verdict cache: re-evaluating a paid judge never asks an answered item again
    verdicts = diagnose_clip(judge, media, items, store)
    return {
        "scene": scene_id, "seed": seed, "clip": ref.prefix, "elapsed_s": time.perf_counter() - started,
        "truth": truth.model_dump(mode="json"),
        "records": [{"item": i.model_dump(mode="json"), "verdict": v.model_dump(mode="json")} for i, v in zip(items, verdicts)],
    }


def run_evaluation(judge_spec: str, generator_spec: str, suite_ref: str, clips: int, seed_start: int, store_url: str,
                   workers: int) -> list[dict[str, Any]]:
    plan = _plan(suite_ref, clips, seed_start)
    args = [(judge_spec, generator_spec, suite_ref, s, seed, store_url) for s, seed in plan]
    if workers <= 1:
        return [evaluate_one(*a) for a in args]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(evaluate_one, *zip(*args)))


def build_report(judge_spec: str, results: list[dict[str, Any]]):
    from diagnosers.base import Verdict
    from diagnosers.evaluation import Report, score_verdicts
    from flows.work import judge_for
    from taxonomy.items import QAItem

    judge = judge_for(judge_spec)
    report = Report(judge.spec.label, judge.version)
    for res in results:
        items = [QAItem.model_validate(r["item"]) for r in res["records"]]
        verdicts = [Verdict.model_validate(r["verdict"]) for r in res["records"]]
        report.records.extend(score_verdicts(items, verdicts, clip=res.get("clip", "")))
    return report


def _fit_baseline(judge_spec: str, generator_spec: str, suite_ref: str, clips: int, seed_start: int, store_url: str) -> str | None:
    """Learnt baselines (majority, blind) are fitted on a disjoint seed range; returns the table path."""
    from diagnosers import build_judge
    from flows.work import render_clip, store_for
    from generators.base import Clip
    from scenes import load_suite
    from taxonomy.qa import ClipTruth, labelled_items

    judge = build_judge(judge_spec)
    if not hasattr(judge, "fit"):
        return None
    suite = load_suite(suite_ref)
    store = store_for(store_url)
    items = []
    for scene_id, seed in _plan(suite_ref, clips, seed_start + 10_000):
        ref = render_clip(generator_spec, suite_ref, scene_id, seed, store_url)
        truth = ClipTruth.from_manifest(Clip.model_validate(store.get_json(ref.manifest_key)))
        items += labelled_items(suite.scene(scene_id), truth)
    judge.fit(items)
    path = Path(store.local_path(f"baselines/{judge.name}-{seed_start}.json")) if store.is_local else Path(f"/tmp/mtavg-{judge.name}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    judge.save(path)
    return str(path)


@judges_app.command("list")
def list_judges(as_json: bool = typer.Option(False, "--json")) -> None:
    """The registered judges."""
    from diagnosers import registry

    names = registry.names()
    if as_json:
        print_json(names)
    else:
        for n in names:
            console.print(n)


@judges_app.command("evaluate")
def evaluate(
    judge: str = typer.Option("probes", "--judge", help="judge spec"),
    suite: str = typer.Option("default", "--suite", help="suite of scenes to render"),
    generator: str = typer.Option("procedural:sparse", "--generator", help="a labelling generator, e.g. procedural:sparse"),
    clips: int = typer.Option(DEFAULT_LABELLED_CLIPS, "--clips", min=1, help="labelled clips to render (or reuse)"),
    seed_start: int = typer.Option(1000, "--seed-start", help="first seed (keep fitting and evaluation ranges apart)"),
    store_url: str = typer.Option(None, "--store", help="store URL (default $MTAVG_STORE or ./.mtavg/store)"),
    workers: int = typer.Option(2, "--workers", min=1),
    save: bool = typer.Option(True, "--save/--no-save", help="store the calibration for the ensemble and profiles"),
    modalities: str = typer.Option(
        None, "--modalities", help="modality ablation: e.g. full,no_audio,no_video,text_only (the paper's Table 6)"
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Evaluate a judge on labelled clips: per-mode balanced accuracy, sensitivity, specificity, coverage."""
    from diagnosers.evaluation import judge_key, store_calibration
    from flows.work import judge_for, store_for
    from storage import SpecError, default_store_url

    store_url = store_url or default_store_url()
    try:
        j = judge_for(judge)
    except SpecError as exc:
        fail(str(exc))
    if modalities:
        _ablation(judge, modalities, generator, suite, clips, seed_start, store_url, workers, as_json)
        return
    table_path = _fit_baseline(judge, generator, suite, clips, seed_start, store_url)
    if table_path:
        judge = f"{judge}{'&' if '?' in judge else '?'}table={table_path}"
        j = judge_for(judge)
    results = run_evaluation(judge, generator, suite, clips, seed_start, store_url, workers)
    report = build_report(judge, results)
    out = report.as_json()
    out.update({"suite": suite, "generator": generator, "clips": len(results)})
    if save:
        cal = report.calibration(judge_key=judge_key(j), generator=generator, suite=suite, clips=len(results))
        out["calibration"] = store_calibration(store_for(store_url), cal)
    if as_json:
        print_json(out)
        return
    _print_report(out)


def _ablation(judge: str, modalities: str, generator: str, suite: str, clips: int, seed_start: int, store_url: str,
              workers: int, as_json: bool) -> None:
    """Evaluate the judge once per modality on the same labelled clips and print the rows side by side."""
    from diagnosers.omni.ablation import parse_modalities, run_ablation
    from storage import SpecError

    try:
        chosen = parse_modalities(modalities)
        table = run_ablation(
            judge,
            lambda spec: build_report(str(spec), run_evaluation(str(spec), generator, suite, clips, seed_start, store_url, workers)),
            chosen,
        )
    except SpecError as exc:
        fail(str(exc))
    if as_json:
        print_json({**table.as_json(), "suite": suite, "generator": generator, "clips": clips})
    else:
        console.print(table.markdown(), highlight=False)


def _print_report(out: dict[str, Any]) -> None:
    from rich.table import Table

    console.print(f"[bold]{out['judge']}[/] on {out['clips']} clips of {out['suite']} by {out['generator']}")
    t = Table("mode", "pos", "neg", "sens", "spec", "bal.acc", "coverage")
    for m in out["modes"]:
        t.add_row(m["mode"], str(m["tp"] + m["fn"]), str(m["tn"] + m["fp"]), _f(m["sensitivity"]), _f(m["specificity"]),
                  _f(m["balanced_accuracy"]), _f(m["coverage"]))
    console.print(t)
    s = Table("sub-dimension", "accuracy")
    for k, v in out["sub_dimensions"].items():
        s.add_row(k, _f(v))
    console.print(s)
    console.print(f"macro accuracy (paper sub-dimensions): {_f(out['macro_accuracy'])}; "
                  f"modes with balanced accuracy >= 0.90: {out['modes_ba_ge_0_90']}")


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _fit_models(generator: str, suite_ref: str, clips: int, seed_start: int, store_url: str, workers: int) -> dict[str, Any]:
    """Render (or reuse) the fitting clips, then fit the probe models on them (`fit_probe_models`)."""
    from diagnosers.base import build_judge
    from diagnosers.media import ClipMedia
    from diagnosers.probes.fitting import fit_probe_models
    from flows.work import render_clip, store_for, suite_for
    from generators.base import Clip

    plan = _plan(suite_ref, clips, seed_start)
    args = [(generator, suite_ref, s, seed, store_url) for s, seed in plan]
    if workers <= 1:
        refs = [render_clip(*a) for a in args]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            refs = list(pool.map(render_clip, *zip(*args)))
    store, suite = store_for(store_url), suite_for(suite_ref)
    options = build_judge("probes").media_options  # open the clips exactly as the judge will
    samples = [(ClipMedia(store.local_path(ref.video_key), suite.scene(ref.scene), **options),
                Clip.model_validate(store.get_json(ref.manifest_key))) for ref in refs if ref.status.value == "ok"]
    return fit_probe_models(samples)


@judges_app.command("fit-probes")
def fit_probes(
    suite: str = typer.Option("default", "--suite"),
    generator: str = typer.Option("procedural:sparse", "--generator"),
    clips: int = typer.Option(DEFAULT_FITTING_CLIPS, "--clips", min=1),
    seed_start: int = typer.Option(0, "--seed-start", help="fitting seeds (evaluate on another range)"),
    out: Path = typer.Option(None, "--out", help="thresholds JSON to write (default: the bundled file)"),
    max_fpr: float = typer.Option(0.10, "--max-fpr", min=0.0, max=1.0, help="false-positive cap on the labelled clips' negatives"),
    clean_clips: int = typer.Option(88, "--clean-clips", min=0, help="clean fitting clips (procedural:clean); 0: none"),
    clean_seed_start: int = typer.Option(3000, "--clean-seed-start", help="their seeds (keep apart from clean test seeds)"),
    max_clean_fpr: float = typer.Option(MAX_CLEAN_FPR, "--max-clean-fpr", min=0.0, max=1.0, help="false-positive cap on the clean clips"),
    min_balanced_accuracy: float = typer.Option(
        0.6, "--min-balanced-accuracy", min=0.0, max=1.0,
        help="a mode whose best cut does no better than this on the fitting clips is left unmeasured (abstained)"),
    store_url: str = typer.Option(None, "--store"),
    workers: int = typer.Option(2, "--workers", min=1),
    fit_models: bool = typer.Option(True, "--models/--no-models", help="refit the probe models (speech, grading, music, cues, actions, face scales) first"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Fit the probe judge's thresholds: max balanced accuracy on labelled clips, false positives capped there and on clean clips."""
    from diagnosers.evaluation import fit_threshold
    from diagnosers.probes import THRESHOLDS
    from storage import default_store_url

    store_url = store_url or default_store_url()
    if fit_models:
        console.print(f"models: {_fit_models(generator, suite, clips, seed_start, store_url, workers)}")
    current = json.loads(Path(THRESHOLDS).read_text(encoding="utf-8"))
    spec, placeholder = _scoring_spec(current)
    try:
        results = run_evaluation(spec, generator, suite, clips, seed_start, store_url, workers)
        scores = _yes_no_scores(results)
        clean = _yes_no_scores(run_evaluation(spec, "procedural:clean", suite, clean_clips, clean_seed_start, store_url,
                                              workers)) if clean_clips else {}
    finally:
        if placeholder is not None:
            placeholder.unlink(missing_ok=True)
    target = out or THRESHOLDS
    modes = dict(current["modes"])
    fitted: dict[str, Any] = {}
    dropped: list[str] = []
    for (mode, is_line), pairs in sorted(scores.items()):
        clean_scores = [s for s, y in clean.get((mode, is_line), []) if not y] if clean_clips else None
        fit = fit_threshold(pairs, max_fpr=max_fpr, clean=clean_scores, max_clean_fpr=max_clean_fpr)
        if fit is None or fit["train_balanced_accuracy"] < min_balanced_accuracy:
            # no better than chance on the fitting clips: the judge abstains rather than guesses
            dropped.append(f"{mode}{' (line)' if is_line else ''}")
            modes.pop(mode, None)
            continue
        entry = dict(modes.get(mode, {}))
        if is_line:
            entry["line_threshold"] = fit["threshold"]
            entry["line_fit"] = fit
            entry.setdefault("threshold", fit["threshold"])
            entry.setdefault("scale", fit["scale"])
        else:
            entry["threshold"] = fit["threshold"]
            entry["scale"] = fit["scale"]
            entry["fit"] = fit
        modes[mode] = entry
        fitted[f"{mode}{' (line)' if is_line else ''}"] = fit
    data = {"version": str(int(current.get("version", "0")) + 1),
            "source": f"fitted by `mtavg judges fit-probes` on {len(results)} clips of {suite} by {generator}, "
                      f"seeds from {seed_start}, max false-positive rate {max_fpr}"
                      + (f", and {clean_clips} procedural:clean clips from seed {clean_seed_start}, max false-positive rate "
                         f"{max_clean_fpr} there" if clean_clips else ""),
            "modes": modes}
    Path(target).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    if as_json:
        print_json({"out": str(target), "fitted": fitted, "unmeasured": dropped})
    else:
        for k, v in fitted.items():
            console.print(f"{k}: threshold {v['threshold']} (train balanced accuracy {v['train_balanced_accuracy']}, "
                          f"{v['positives']} pos / {v['negatives']} neg)")
        if dropped:
            console.print(f"left unmeasured (best cut no better than {min_balanced_accuracy}): {', '.join(dropped)}")
        console.print(f"wrote {target}")


def _yes_no_scores(results: list[dict[str, Any]]) -> dict[tuple[str, bool], list[tuple[float, bool]]]:
    """(mode, is line item) -> [(probe score, gold is yes)] over the yes/no items of evaluated clips."""
    scores: dict[tuple[str, bool], list[tuple[float, bool]]] = {}
    for res in results:
        for r in res["records"]:
            item, verdict = r["item"], r["verdict"]
            if item["format"] != "yes_no" or item.get("gold") is None:
                continue
            score = (verdict.get("evidence") or {}).get("score")
            if score is None:
                continue
            key = (item["modes"][0], "line" in (item.get("slot") or {}))
            scores.setdefault(key, []).append((float(score), item["gold"]["choices"] == ["yes"]))
    return scores


def _scoring_spec(current: dict[str, Any]) -> tuple[str, Path | None]:
    """A probes spec that scores every probe mode, and the placeholder thresholds file it reads (if any).

    The judge only asks modes it has thresholds for; a new probe's mode needs scores before it can have
    one, so modes without a fitted threshold yet get a placeholder that never answers yes.
    """
    import tempfile

    from diagnosers.probes import measured_modes

    modes = dict(current["modes"])
    missing = [m for m in measured_modes() if m not in modes]
    if not missing:
        return "probes", None
    for m in missing:
        modes[m] = {"threshold": 1e9, "scale": 1.0, "placeholder": True}
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="mtavg-thresholds-", delete=False) as fh:
        json.dump({**current, "modes": modes}, fh)
    return f"probes?thresholds={fh.name}", Path(fh.name)


def register(app: typer.Typer) -> None:
    app.add_typer(judges_app, name="judges")
