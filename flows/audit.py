"""The audit: render each scene with each generator, ask each judge about each clip, profile, compare, report.

    render task per (generator, scene) ─► diagnose task per (judge, clip) ─► profile per (generator, judge)
                                        ├► pair task per (judge, scene, candidate vs baseline)
                                        └► chain task per (judge, drama, generator)
    ─► comparison of every generator with the baseline ─► report + artifacts + run manifest

Tasks carry specs, ids and store keys; the store is the cache (a clip whose key exists is not
rendered again, an `answered` verdict is not asked again), so a killed audit re-run does only
what is missing. CPU-bound work goes to a pool of worker processes (`flows.pool`), because the
probes are Python-heavy and threads would share one core.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from diagnosers.compare import Comparison, compare_profiles
from diagnosers.profile import FailureProfile
from flows import pool
from flows.params import AuditParams, CompareParams, DiagnoseParams, Executor, RenderParams
from flows.progress import sink
from flows.results import code_version, comparison_name, profile_for, verdict_counts
from flows.work import (
    ClipRef,
    DiagnosisRef,
    diagnose_chain_ref,
    diagnose_clip_ref,
    diagnose_pair_ref,
    generator_for,
    render_clip,
    suite_for,
)
from storage import ComponentSpec, Store, default_store_url, run_prefix
from taxonomy.model import load_taxonomy

TASK_THREADS = 16  # in-flight tasks; the process pool, not this, bounds CPU use


# ---------------------------------------------------------------- tasks: one per (generator, scene), per (judge, clip)


@task(name="render", task_run_name="render {generator} · {scene}", cache_policy=NONE, retries=1, retry_delay_seconds=2)
def render_task(generator: str, suite: str, scene: str, seed: int, store: str, executor: Executor, workers: int, force: bool) -> ClipRef:
    """Render one scene with one generator into the store (skipped when its clip key exists)."""
    return pool.run(executor, workers, render_clip, generator, suite, scene, seed, store, force)


@task(name="diagnose", task_run_name="diagnose {judge} · {clip.generator} · {clip.scene}", cache_policy=NONE)
def diagnose_task(judge: str, suite: str, clip: ClipRef, store: str, executor: Executor, workers: int, force: bool) -> DiagnosisRef | None:
    """Answer all of one clip's items with one judge, through the verdict cache."""
    if clip.status.value != "ok":
        return None
    return pool.run(executor, workers, diagnose_clip_ref, judge, suite, clip, store, force)


@task(name="diagnose-pair", task_run_name="pair {judge} · {scene}", cache_policy=NONE)
def pair_task(judge: str, suite: str, scene: str, base: ClipRef, candidate: ClipRef, store: str, executor: Executor, workers: int, force: bool) -> DiagnosisRef | None:
    """Answer one scene's pairwise items: the baseline's clip (A) against a candidate's (B)."""
    if base.status.value != "ok" or candidate.status.value != "ok":
        return None
    return pool.run(executor, workers, diagnose_pair_ref, judge, suite, base, candidate, store, force)


@task(name="diagnose-drama", task_run_name="drama {judge} · {generator} · {drama}", cache_policy=NONE)
def chain_task(judge: str, suite: str, drama: str, generator: str, clips: list[ClipRef], store: str, executor: Executor, workers: int, force: bool) -> DiagnosisRef | None:
    """Answer one drama's items over one generator's chain of clips."""
    if any(c.status.value != "ok" for c in clips):
        return None
    return pool.run(executor, workers, diagnose_chain_ref, judge, suite, drama, clips, store, force)


@task(name="profile", task_run_name="profile {generator} · {judge}", cache_policy=NONE)
def profile_task(store: str, suite: str, clips: list[ClipRef], diagnoses: list[DiagnosisRef], generator: str, judge: str, seed: int, key: str) -> str:
    """Build one (generator, judge) failure profile from the stored verdicts; returns its store key."""
    profile = profile_for(Store(store), suite, clips, diagnoses, generator=generator, judge=judge, seed=seed)
    Store(store).put_json(key, profile.model_dump(mode="json"))
    return key


# ---------------------------------------------------------------- stages (called inside flows)


def _result(future: PrefectFuture) -> Any:
    """A task's result, or None when it failed (logged; the store keeps what finished, the next run retries)."""
    state = future.state
    if state.is_completed():
        return future.result()
    get_run_logger().warning("task %s ended %s: %s", future.task_run_id, state.name, (state.message or "")[:300])
    return None


def _gather(futures: list[PrefectFuture], stage: str) -> list[Any]:
    """Results in submission order (None for failed tasks), advancing the progress bar as each finishes."""
    for future in as_completed(futures):
        future.wait()
        sink().advance(stage)
    return [_result(f) for f in futures]


def _render_all(params: RenderParams, store_url: str) -> dict[str, dict[str, PrefectFuture]]:
    """Submit one render task per (generator, scene); futures by generator then scene."""
    suite = suite_for(params.suite)
    futures: dict[str, dict[str, PrefectFuture]] = {}
    for generator in params.generators:
        futures[generator] = {
            scene.id: render_task.submit(generator, params.suite, scene.id, params.seed, store_url, params.executor, params.workers, params.force)
            for scene in suite.scenes
        }
    return futures


def _diagnose_all(params: DiagnoseParams, store_url: str, renders: dict[str, dict[str, PrefectFuture]]) -> dict[str, Any]:
    """Submit diagnose, pair and chain tasks as their clips finish; wait for everything."""
    suite = suite_for(params.suite)
    baseline = params.baseline_spec()
    clip_futures = [f for per in renders.values() for f in per.values()]
    diag: dict[tuple[str, str], list[PrefectFuture]] = defaultdict(list)
    pairs: list[PrefectFuture] = []
    args = (store_url, params.executor, params.workers, params.force)
    for judge in params.judges:
        for generator, per_scene in renders.items():
            for scene_id, clip in per_scene.items():
                diag[(generator, judge)].append(diagnose_task.submit(judge, params.suite, clip, *args))
            if params.dramas:
                for drama in suite.dramas:
                    clips = [per_scene[s] for s in drama.scenes]
                    diag[(generator, judge)].append(chain_task.submit(judge, params.suite, drama.id, generator, clips, *args))
            if params.pairwise and generator != baseline:
                for scene_id, clip in per_scene.items():
                    pairs.append(pair_task.submit(judge, params.suite, scene_id, renders[baseline][scene_id], clip, *args))
    all_diag = [f for fs in diag.values() for f in fs]
    sink().start("render", len(clip_futures))
    sink().start("diagnose", len(all_diag) + len(pairs))
    clips = _gather(clip_futures, "render")
    for future in as_completed(all_diag + pairs):
        future.wait()
        sink().advance("diagnose")
    failed = sum(1 for c in clips if c is None)
    diagnoses = {key: [_result(f) for f in fs] for key, fs in diag.items()}
    pair_refs = [_result(f) for f in pairs]
    failed += sum(1 for fs in diag.values() for f in fs if not f.state.is_completed())
    failed += sum(1 for f in pairs if not f.state.is_completed())
    return {
        "clips": [c for c in clips if c is not None],
        "diagnoses": {key: [r for r in refs if r is not None] for key, refs in diagnoses.items()},
        "pairs": [r for r in pair_refs if r is not None],
        "clips_by_generator": {g: [c for f in per.values() if (c := _result(f)) is not None] for g, per in renders.items()},
        "failed_tasks": failed,
    }


def _new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def _describe(params: DiagnoseParams, clips_by_generator: dict[str, list[ClipRef]], judges: dict[str, dict[str, Any]]) -> dict[str, Any]:
    suite = suite_for(params.suite)
    gens = []
    for spec in params.generators:
        g = generator_for(spec)
        from generators.base import config_hash

        gens.append({"spec": spec, "label": ComponentSpec.parse(spec).label, "name": g.name, "version": str(g.version),
                     "config_hash": config_hash(g.config)})
    return {
        "suite": {"ref": params.suite, "name": getattr(suite, "name", params.suite), "hash": suite.content_hash(),
                  "scenes": len(suite.scenes), "dramas": len(suite.dramas)},
        "generators": gens,
        "judges": [{"spec": spec, **ident} for spec, ident in judges.items()],
        "taxonomy_version": load_taxonomy().version,
        "code_version": code_version(),
    }


# ---------------------------------------------------------------- flows


@flow(name="render-suite", task_runner=ThreadPoolTaskRunner(max_workers=TASK_THREADS), log_prints=False)
def render_suite(params: RenderParams = RenderParams()) -> list[dict[str, Any]]:
    """Render every scene of a suite with every generator into the store (existing clips are kept)."""
    store_url = params.store or default_store_url()
    renders = _render_all(params, store_url)
    futures = [f for per in renders.values() for f in per.values()]
    sink().start("render", len(futures))
    clips: list[ClipRef] = [c for c in _gather(futures, "render") if c is not None]
    get_run_logger().info("%d clips (%d rendered now)", len(clips), sum(c.rendered for c in clips))
    return [c.model_dump(mode="json", include={"generator", "scene", "prefix", "status", "rendered"}) for c in clips]


@flow(name="diagnose-clips", task_runner=ThreadPoolTaskRunner(max_workers=TASK_THREADS))
def diagnose_clips(params: DiagnoseParams = DiagnoseParams()) -> dict[str, Any]:
    """Ask every judge about every clip (rendering missing clips first); verdicts go to the store."""
    store_url = params.store or default_store_url()
    done = _diagnose_all(params, store_url, _render_all(params, store_url))
    diagnoses = [d for ds in done["diagnoses"].values() for d in ds] + done["pairs"]
    return {"clips": len(done["clips"]), "diagnoses": len(diagnoses), "verdicts": verdict_counts(diagnoses)}


@flow(name="audit", task_runner=ThreadPoolTaskRunner(max_workers=TASK_THREADS))
def audit(params: AuditParams = AuditParams()) -> dict[str, Any]:
    """Render → QA → diagnose → profile → compare → report, with a run manifest in the store."""
    from flows.artifacts import publish_artifacts
    from flows.report import write_report

    started = time.time()
    timings: dict[str, float] = {}
    store_url = params.store or default_store_url()
    store = Store(store_url)
    run_id = params.run_id or _new_run_id()
    prefix = run_prefix(run_id)
    logger = get_run_logger()
    logger.info("audit run %s into %s", run_id, store.url)
    baseline = params.baseline_spec()

    t = time.perf_counter()
    done = _diagnose_all(params, store_url, _render_all(params, store_url))
    timings["render_and_diagnose_s"] = time.perf_counter() - t

    t = time.perf_counter()
    profile_futures = {}
    for (generator, judge), diagnoses in done["diagnoses"].items():
        key = f"{prefix}/profiles/{_safe(generator)}--{_safe(judge)}.json"
        profile_futures[(generator, judge)] = profile_task.submit(
            store_url, params.suite, done["clips_by_generator"][generator], diagnoses, generator, judge, params.seed, key)
    profiles: dict[tuple[str, str], FailureProfile] = {
        k: FailureProfile.model_validate(store.get_json(f.result())) for k, f in profile_futures.items()
    }
    comparisons: list[Comparison] = []
    for judge in params.judges:
        for generator in params.generators:
            if generator == baseline:
                continue
            comparison = compare_profiles(profiles[(baseline, judge)], profiles[(generator, judge)], alpha=params.alpha, method=params.mcnemar)
            store.put_json(f"{prefix}/comparisons/{comparison_name(comparison)}.json", comparison.model_dump(mode="json"))
            comparisons.append(comparison)
    timings["profile_and_compare_s"] = time.perf_counter() - t

    t = time.perf_counter()
    report_key = None
    if params.report:
        report_key = write_report(store, prefix, list(profiles.values()), comparisons, done["clips"], done, suite_ref=params.suite,
                                  title=f"mtavg audit {run_id}", threshold=params.threshold)
    timings["report_s"] = time.perf_counter() - t

    diagnoses = [d for ds in done["diagnoses"].values() for d in ds] + done["pairs"]
    judges = {d.judge: d.judge_identity for d in diagnoses}
    manifest = {
        "run_id": run_id,
        "flow": "audit",
        "started": started,
        "finished": time.time(),
        "params": params.model_dump(mode="json"),
        **_describe(params, done["clips_by_generator"], judges),
        "baseline": baseline,
        "counts": {
            "clips": len(done["clips"]),
            "rendered": sum(c.rendered for c in done["clips"]),
            "failed_clips": sum(c.status.value != "ok" for c in done["clips"]),
            "failed_tasks": done["failed_tasks"],
            "diagnoses": len(diagnoses),
            "items": sum(d.items for d in diagnoses),
            "asked": sum(d.asked for d in diagnoses),
            "cached": sum(d.cached for d in diagnoses),
            "verdicts": verdict_counts(diagnoses),
        },
        "timings": {**timings, "wall_s": time.time() - started},
        "profiles": {f"{g} | {j}": f"{prefix}/profiles/{_safe(g)}--{_safe(j)}.json" for g, j in profiles},
        "comparisons": [f"{prefix}/comparisons/{comparison_name(c)}.json" for c in comparisons],
        "report": report_key,
    }
    store.put_json(f"{prefix}/manifest.json", manifest)
    store.put_json("runs/latest.json", {"run_id": run_id, "finished": manifest["finished"]})
    report_url = store.url_for(report_key) if report_key else None
    publish_artifacts(list(profiles.values()), comparisons, report_url, run_id, manifest)
    return {
        "run": run_id,
        "store": store.url,
        "manifest": store.url_for(f"{prefix}/manifest.json"),
        "report": report_url,
        "counts": manifest["counts"],
        "timings": manifest["timings"],
        "profiles": [p.model_dump(mode="json", exclude={"flags"}) for p in profiles.values()],
        "comparison": comparisons[0].model_dump(mode="json") if comparisons else {},
        "comparisons": [c.model_dump(mode="json") for c in comparisons],
        "gate": sorted({m.mode for c in comparisons for m in c.gate(params.threshold)}),
    }


@flow(name="compare-versions", task_runner=ThreadPoolTaskRunner(max_workers=TASK_THREADS))
def compare_versions(params: CompareParams = CompareParams()) -> dict[str, Any]:
    """Compare two generator versions (or two seeds of one) on a suite with one judge; gate on regressions."""
    base_seed = params.seed if params.base_seed is None else params.base_seed
    cand_seed = params.seed if params.candidate_seed is None else params.candidate_seed
    store_url = params.store or default_store_url()
    store = Store(store_url)
    run_id = _new_run_id()
    prefix = run_prefix(run_id)
    sides = {}
    for role, spec, seed in (("base", params.base, base_seed), ("candidate", params.candidate, cand_seed)):
        side = DiagnoseParams(suite=params.suite, store=store_url, seed=seed, workers=params.workers, executor=params.executor,
                              force=params.force, generators=[spec], judges=[params.judge], pairwise=False)
        done = _diagnose_all(side, store_url, _render_all(side, store_url))
        key = f"{prefix}/profiles/{role}--{_safe(spec)}--s{seed}.json"
        profile_task.submit(store_url, params.suite, done["clips_by_generator"][spec], done["diagnoses"][(spec, params.judge)],
                            spec, params.judge, seed, key).result()
        sides[role] = FailureProfile.model_validate(store.get_json(key))
    comparison = compare_profiles(sides["base"], sides["candidate"], alpha=params.alpha, method=params.mcnemar)
    store.put_json(f"{prefix}/comparisons/{comparison_name(comparison)}.json", comparison.model_dump(mode="json"))
    report_url = None
    if params.report:
        from flows.report import write_report

        report_url = store.url_for(write_report(store, prefix, [sides["base"], sides["candidate"]], [comparison], [], {},
                                                suite_ref=params.suite, title=f"mtavg comparison {run_id}", threshold=params.threshold))
    from flows.artifacts import publish_artifacts

    publish_artifacts([sides["base"], sides["candidate"]], [comparison], report_url, run_id, None)
    store.put_json(f"{prefix}/manifest.json", {"run_id": run_id, "flow": "compare-versions", "params": params.model_dump(mode="json"),
                                               "code_version": code_version(), "report": report_url})
    return {
        "run": run_id,
        "report": report_url,
        "profiles": [p.model_dump(mode="json", exclude={"flags"}) for p in sides.values()],
        "comparison": comparison.model_dump(mode="json"),
        "gate": [m.mode for m in comparison.gate(params.threshold)],
    }


def _safe(spec: str) -> str:
    from storage import safe_segment

    return safe_segment(spec)
