"""Audit benchmark: default audit wall time and verdict count, Prefect over plain calls, re-run over first run.

    .venv/bin/python benchmarks/audit.py [--suite default] [--workers 2] [--executors]

1. plain: the same work (render, diagnose, profile, compare, report) by plain function calls over
   the same process pool, into a fresh store;
2. prefect: the `audit` flow into another fresh store (the temporary Prefect server is started
   beforehand by a trivial flow, and its start-up is printed separately);
3. rerun: the `audit` flow again into the second store (everything cached).
Goals (issue 5): prefect ≤ 5 min for ≥ 10,000 verdicts on 2 cores; prefect / plain ≤ 1.10; rerun / prefect ≤ 0.05.
`--executors` also times diagnosing a few clips in worker processes vs in threads (decision note 071).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def plain_audit(params, store_url: str) -> dict:
    """The audit's work without Prefect: same functions, same pool, same store layout."""
    from diagnosers.compare import compare_profiles
    from flows import pool
    from flows.report import write_report
    from flows.results import profile_for
    from flows.work import diagnose_chain_ref, diagnose_clip_ref, diagnose_pair_ref, render_clip, suite_for
    from storage import Store

    suite = suite_for(params.suite)
    ex = pool.pool(params.workers)
    renders = {(g, s.id): ex.submit(render_clip, g, params.suite, s.id, params.seed, store_url, False)
               for g in params.generators for s in suite.scenes}
    clips = {k: f.result() for k, f in renders.items()}
    jobs = {}
    baseline = params.baseline_spec()
    for judge in params.judges:
        for g in params.generators:
            for s in suite.scenes:
                jobs[ex.submit(diagnose_clip_ref, judge, params.suite, clips[(g, s.id)], store_url, False)] = (g, judge)
            for d in suite.dramas:
                jobs[ex.submit(diagnose_chain_ref, judge, params.suite, d.id, [clips[(g, s)] for s in d.scenes], store_url, False)] = (g, judge)
            if g != baseline:
                for s in suite.scenes:
                    jobs[ex.submit(diagnose_pair_ref, judge, params.suite, clips[(baseline, s.id)], clips[(g, s.id)], store_url, False)] = None
    diagnoses: dict = {}
    verdicts = 0
    for f in as_completed(jobs):
        ref = f.result()
        verdicts += ref.items
        if jobs[f] is not None:
            diagnoses.setdefault(jobs[f], []).append(ref)
    store = Store(store_url)
    profiles = {k: profile_for(store, params.suite, [c for (g, _), c in clips.items() if g == k[0]], v, generator=k[0], judge=k[1])
                for k, v in diagnoses.items()}
    comparisons = [compare_profiles(profiles[(baseline, j)], profiles[(g, j)]) for j in params.judges for g in params.generators if g != baseline]
    done = {"clips_by_generator": {g: [c for (gg, _), c in clips.items() if gg == g] for g in params.generators}, "diagnoses": diagnoses}
    write_report(store, "runs/plain", list(profiles.values()), comparisons, list(clips.values()), done, suite_ref=params.suite, title="plain")
    return {"verdicts": verdicts}


def time_executors(suite_ref: str, store_url: str, workers: int, clips: int) -> dict:
    """Diagnose `clips` clips (already rendered) with the probes: worker processes vs task threads."""
    from concurrent.futures import ThreadPoolExecutor

    from flows import pool
    from flows.work import diagnose_clip_ref, render_clip, suite_for

    scenes = [s.id for s in suite_for(suite_ref).scenes][:clips]
    refs = [render_clip("procedural:flawed", suite_ref, s, 0, store_url) for s in scenes]
    out = {}
    args = (["probes"] * len(refs), [suite_ref] * len(refs), refs, [store_url] * len(refs), [True] * len(refs))
    pool.shutdown()
    ex = pool.pool(workers)
    list(ex.map(diagnose_clip_ref, *args))  # warm: every worker has loaded its models
    t = time.perf_counter()
    list(ex.map(diagnose_clip_ref, *args))
    out["process_s"] = time.perf_counter() - t
    for r in refs[:workers]:  # warm this process the same way
        diagnose_clip_ref("probes", suite_ref, r, store_url, True)
    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as threads:
        list(threads.map(lambda r: diagnose_clip_ref("probes", suite_ref, r, store_url, True), refs))
    out["thread_s"] = time.perf_counter() - t
    out["clips"] = len(refs)
    out["thread_over_process"] = out["thread_s"] / out["process_s"]
    return out


def fault_check(store_url: str, first: dict, suite_ref: str, workers: int) -> dict:
    """Which injected faults of `flawed` the comparison found, and whether two renders of one version differ."""
    from collections import Counter

    from flows.audit import compare_versions
    from flows.params import CompareParams
    from storage import Store

    store = Store(store_url)
    injected: Counter = Counter()
    flawed_clips = [k for k in store.list("clips/procedural-flawed") if k.endswith("/manifest.json")]
    for key in flawed_clips:
        for mode in {m for f in store.get_json(key).get("faults", []) for m in f["modes"]}:
            injected[mode] += 1
    comparison = first["comparison"]
    measured = {m["mode"] for m in comparison["modes"] if m["pairs"]}
    frequent = sorted(m for m, n in injected.items() if n >= max(6, len(flawed_clips) // 4) and m in measured)
    found = sorted(set(frequent) & set(comparison["improvements"]))
    same = compare_versions(CompareParams(suite=suite_ref, base="procedural:flawed", candidate="procedural:flawed", base_seed=0,
                                          candidate_seed=1, judge="probes", store=store_url, workers=workers, report=False))
    return {
        "flawed_clips": len(flawed_clips),
        "injected_in_flawed": dict(sorted(injected.items())),
        "frequent_faults_the_judge_answers": frequent,
        "improvements": comparison["improvements"],
        "regressions": comparison["regressions"],
        "frequent_faults_found": found,
        "same_version_seed0_vs_seed1_regressions": same["comparison"]["regressions"],
        "same_version_seed0_vs_seed1_improvements": same["comparison"]["improvements"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", default="default")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--executors", action="store_true", help="also time process pool vs threads")
    parser.add_argument("--executor-clips", type=int, default=6)
    parser.add_argument("--keep", action="store_true", help="keep the temporary stores")
    parser.add_argument("--no-fault-check", action="store_true", help="skip the comparison check (seed 1 renders)")
    args = parser.parse_args()

    from prefect import flow

    from flows import pool
    from flows.audit import audit
    from flows.params import AuditParams

    root = Path(tempfile.mkdtemp(prefix="mtavg-bench-"))
    results: dict = {"suite": args.suite, "workers": args.workers, "cpus": os.cpu_count()}
    try:
        if args.executors:
            results["executors"] = time_executors(args.suite, str(root / "exec"), args.workers, args.executor_clips)
            print("executors:", json.dumps(results["executors"]), flush=True)
            pool.shutdown()

        plain_params = AuditParams(suite=args.suite, workers=args.workers, store=str(root / "plain"))
        t = time.perf_counter()
        plain = plain_audit(plain_params, str(root / "plain"))
        results["plain_s"] = time.perf_counter() - t
        pool.shutdown()
        print(f"plain calls: {results['plain_s']:.1f}s, {plain['verdicts']} verdicts", flush=True)

        @flow(name="warm-up")
        def warm_up() -> int:
            return 1

        t = time.perf_counter()
        warm_up()
        results["prefect_server_start_s"] = time.perf_counter() - t

        params = AuditParams(suite=args.suite, workers=args.workers, store=str(root / "prefect"), run_id="first")
        t = time.perf_counter()
        first = audit(params)
        results["prefect_s"] = time.perf_counter() - t
        results["verdicts"] = first["counts"]["items"]
        results["verdict_status"] = first["counts"]["verdicts"]
        print(f"prefect audit: {results['prefect_s']:.1f}s, {results['verdicts']} verdicts", flush=True)

        t = time.perf_counter()
        again = audit(params.model_copy(update={"run_id": "again"}))
        results["rerun_s"] = time.perf_counter() - t
        results["rerun_asked"] = again["counts"]["asked"]
        results["rerun_rendered"] = again["counts"]["rendered"]
        results["prefect_over_plain"] = results["prefect_s"] / results["plain_s"]
        results["rerun_over_first"] = results["rerun_s"] / results["prefect_s"]
        results["goals"] = {
            "audit_le_300s_for_10k_verdicts": results["prefect_s"] <= 300 and results["verdicts"] >= 10_000,
            "prefect_over_plain_le_1.10": results["prefect_over_plain"] <= 1.10,
            "rerun_over_first_le_0.05": results["rerun_over_first"] <= 0.05,
        }
        if not args.no_fault_check:
            results["fault_check"] = fault_check(str(root / "prefect"), first, args.suite, args.workers)
        try:
            results["load_average"] = os.getloadavg()
        except OSError:
            pass
        print(json.dumps(results, indent=1))
    finally:
        pool.shutdown()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
