"""`mtavg audit`, `mtavg compare`, `mtavg serve`, `mtavg runs`: the main job and its neighbours."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from flows.commands.common import console, err_console, fail, print_json


class RichProgress:
    """The flows' progress as rich bars on stderr (stdout stays clean for --json)."""

    def __init__(self, progress: Progress):
        self.progress, self.bars = progress, {}

    def start(self, stage: str, total: int) -> None:
        if stage in self.bars:
            self.progress.update(self.bars[stage], total=total)
        else:
            self.bars[stage] = self.progress.add_task(stage, total=total)

    def advance(self, stage: str, n: int = 1) -> None:
        if stage in self.bars:
            self.progress.advance(self.bars[stage], n)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:>9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=False)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def _print_profiles(profiles: list[dict[str, Any]]) -> None:
    for p in profiles:
        table = Table(title=f"{p['generator']}@{p['generator_version']} · judge {p['judge']} · {p['units']} units", title_justify="left")
        table.add_column("group / mode", no_wrap=True, min_width=34)
        table.add_column("flagged", justify="right")
        table.add_column("rate [95% CI]", justify="right")
        table.add_column("coverage", justify="right")
        table.add_column("corrected", justify="right")
        for g in p["groupings"].get("dimensions", []):
            o = g["observed"]
            table.add_row(f"[bold]{g['group']}[/]", f"{g['flagged']}/{g['answered']}",
                          f"{_pct(o['rate'])} [{_pct(o['low'])}, {_pct(o['high'])}]", _pct(g["coverage"]), "")
        top = sorted((m for m in p["modes"] if m["answered"]), key=lambda m: -(m["observed"]["rate"] or 0))[:10]
        for m in top:
            o, c = m["observed"], m.get("corrected")
            table.add_row(f"  {m['mode']}", f"{m['flagged']}/{m['answered']}", f"{_pct(o['rate'])} [{_pct(o['low'])}, {_pct(o['high'])}]",
                          _pct(m["coverage"]), _pct(c["rate"]) if c else "")
        console.print(table)


def _print_comparison(c: dict[str, Any], threshold: float) -> None:
    changed = [m for m in c["modes"] if m["direction"] in ("regression", "improvement")]
    table = Table(title=f"{c['base']} → {c['candidate']} · judge {c['judge']} (McNemar {c['method']}, Holm α={c['alpha']})",
                  title_justify="left")
    for col in ("mode", "call", "base", "candidate", "difference [95% CI]", "p (Holm)"):
        table.add_column(col, justify="left" if col in ("mode", "call") else "right")
    for m in sorted(changed, key=lambda m: (m["direction"], m["p_holm"])):
        style = "red" if m["direction"] == "regression" else "green"
        table.add_row(m["mode"], f"[{style}]{m['direction']}[/]", _pct(m["base_rate"]), _pct(m["candidate_rate"]),
                      f"{m['difference']:+.2f} [{m['low']:+.2f}, {m['high']:+.2f}]", f"{m['p_holm']:.3g}")
    if not changed:
        table.add_row("(no significant change)", "", "", "", "", "")
    console.print(table)
    gated = [m["mode"] for m in c["modes"] if m["direction"] == "regression" and (m["difference"] or 0) > threshold]
    console.print(f"[bold]{len(c['regressions'])}[/] regressions ({len(gated)} over the gate {threshold}), "
                  f"[bold]{len(c['improvements'])}[/] improvements")
    for w in c.get("warnings", []):
        err_console.print(f"[yellow]warning:[/] {w}")


def _prefect_environment() -> None:
    """Before Prefect loads: give the temporary server time to start on a busy machine."""
    import os

    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def _run_flow(fn, params, show_progress: bool):
    from flows.progress import reporting

    if not show_progress:
        return fn(params)
    with _progress() as bars, reporting(RichProgress(bars)):
        return fn(params)


def _params(model, **values):
    from pydantic import ValidationError

    try:
        return model(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())
        fail(f"bad options: {details}")


def _load_profile(ref: str, store_url: str | None):
    """A profile from a JSON file or a store key, or None when `ref` names neither (then it is a generator spec)."""
    from diagnosers.profile import FailureProfile
    from storage import Store, UnsafeKeyError

    path = Path(ref)
    if ref.endswith(".json") and path.is_file():
        return FailureProfile.model_validate_json(path.read_text(encoding="utf-8"))
    if ref.endswith(".json"):
        store = Store(store_url)
        try:
            if store.exists(ref):
                return FailureProfile.model_validate(store.get_json(ref))
        except UnsafeKeyError:
            pass
        fail(f"profile {ref!r}: no such file, nor key in store {store.url}")
    return None


def register(app: typer.Typer) -> None:
    @app.command()
    def audit(
        suite: str = typer.Option("default", help="suite name, folder or file"),
        generator: Optional[list[str]] = typer.Option(None, "--generator", "-g", help="generator spec (repeatable); default procedural:flawed and procedural:clean"),
        judge: Optional[list[str]] = typer.Option(None, "--judge", "-j", help="judge spec (repeatable); default probes"),
        store: Optional[str] = typer.Option(None, help="store URL; default $MTAVG_STORE or .mtavg/store"),
        baseline: Optional[str] = typer.Option(None, help="generator the others are compared with; default the first"),
        workers: int = typer.Option(0, min=0, max=64, help="worker processes; 0 = one per core"),
        executor: str = typer.Option("process", help="process (every core) or thread"),
        seed: int = typer.Option(0, min=0, help="render seed"),
        threshold: float = typer.Option(0.0, min=0.0, max=1.0, help="gate: a regression counts when its rate rises by more than this"),
        alpha: float = typer.Option(0.05, help="family-wise error rate (Holm)"),
        pairwise: bool = typer.Option(True, help="ask pairwise items (each generator vs the baseline)"),
        dramas: bool = typer.Option(True, help="ask drama-level items"),
        report: bool = typer.Option(True, help="write the HTML report"),
        run_id: Optional[str] = typer.Option(None, help="run name; default a timestamp"),
        force: bool = typer.Option(False, "--force", help="redo renders and verdicts"),
        gate: bool = typer.Option(False, "--gate", help="exit 1 when a regression passes the threshold"),
        as_json: bool = typer.Option(False, "--json", help='print {"run","report","profiles":[...],"comparison":{...}}'),
    ) -> None:
        """Render, diagnose, profile and compare generator versions; print the tables and the report path."""
        from flows.params import AuditParams

        params = _params(AuditParams, suite=suite, generators=generator or None, judges=judge or None, store=store, baseline=baseline,
                         workers=workers, executor=executor, seed=seed, threshold=threshold, alpha=alpha, pairwise=pairwise,
                         dramas=dramas, report=report, run_id=run_id, force=force)
        try:
            params.baseline_spec()
        except ValueError as exc:
            fail(str(exc))
        _check_inputs(params.suite, params.generators, params.judges)
        _prefect_environment()
        from flows.audit import audit as audit_flow

        result = _run_flow(audit_flow, params, show_progress=not as_json)
        if as_json:
            print_json({k: result[k] for k in ("run", "report", "profiles", "comparison", "comparisons", "counts", "timings", "manifest", "gate")})
        else:
            _print_profiles(result["profiles"])
            for c in result["comparisons"]:
                _print_comparison(c, params.threshold)
            counts = result["counts"]
            console.print(f"run [bold]{result['run']}[/]: {counts['clips']} clips ({counts['rendered']} rendered now), "
                          f"{counts['items']} verdicts ({counts['asked']} asked now, {counts['cached']} from the cache) "
                          f"in {result['timings']['wall_s']:.1f}s")
            console.print(f"report: {result['report']}", soft_wrap=True)
        if gate and result["gate"]:
            sys.exit(1)

    @app.command()
    def compare(
        base: str = typer.Argument(..., help="base: generator spec, or a profile JSON (file or store key)"),
        candidate: str = typer.Argument(..., help="candidate: generator spec, or a profile JSON"),
        threshold: float = typer.Option(0.0, min=0.0, max=1.0, help="exit 1 when a regression raises a rate by more than this"),
        judge: str = typer.Option("probes", help="judge spec (generator specs only)"),
        suite: str = typer.Option("default", help="suite (generator specs only)"),
        store: Optional[str] = typer.Option(None, help="store URL"),
        seed: int = typer.Option(0, min=0),
        base_seed: Optional[int] = typer.Option(None, min=0, help="seed of the base renders (compare two renders of one version)"),
        candidate_seed: Optional[int] = typer.Option(None, min=0),
        workers: int = typer.Option(0, min=0, max=64),
        alpha: float = typer.Option(0.05),
        mid_p: bool = typer.Option(False, "--mid-p", help="McNemar mid-p instead of exact"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Compare two versions per failure mode (McNemar, paired by scene, Holm); exit 1 on a gated regression."""
        from diagnosers.compare import McNemarMethod, compare_profiles

        method = McNemarMethod.mid_p if mid_p else McNemarMethod.exact
        loaded = [_load_profile(base, store), _load_profile(candidate, store)]
        if all(p is not None for p in loaded):
            try:
                comparison = compare_profiles(loaded[0], loaded[1], alpha=alpha, method=method).model_dump(mode="json")
            except ValueError as exc:
                fail(str(exc))
            result = {"run": None, "report": None, "comparison": comparison,
                      "profiles": [p.model_dump(mode="json", exclude={"flags"}) for p in loaded]}
        elif any(p is not None for p in loaded):
            fail("give two generator specs or two profile files, not one of each")
        else:
            from flows.params import CompareParams

            params = _params(CompareParams, base=base, candidate=candidate, judge=judge, suite=suite, store=store, seed=seed,
                             base_seed=base_seed, candidate_seed=candidate_seed, workers=workers, alpha=alpha, threshold=threshold,
                             mcnemar=method)
            _check_inputs(params.suite, [params.base, params.candidate], [params.judge])
            _prefect_environment()
            from flows.audit import compare_versions

            result = _run_flow(compare_versions, params, show_progress=not as_json)
        comparison = result["comparison"]
        gated = [m["mode"] for m in comparison["modes"] if m["direction"] == "regression" and (m["difference"] or 0) > threshold]
        if as_json:
            print_json({"run": result["run"], "report": result["report"], "comparison": comparison, "gate": gated,
                        "profiles": result["profiles"]})
        else:
            _print_comparison(comparison, threshold)
            if result["report"]:
                console.print(f"report: {result['report']}", soft_wrap=True)
        if gated:
            err_console.print(f"[bold red]gate failed:[/] {len(gated)} regression(s) over {threshold}: {', '.join(gated)}")
            sys.exit(1)

    @app.command()
    def serve(
        cron: str = typer.Option("0 3 * * *", help="schedule of the nightly audit (cron, in --timezone)"),
        timezone: str = typer.Option("UTC"),
        suite: str = typer.Option("default"),
        store: Optional[str] = typer.Option(None, help="store URL the served runs write to"),
        limit: int = typer.Option(1, min=1, max=16, help="concurrent runs per deployment"),
    ) -> None:
        """Serve the nightly, on-demand and comparison deployments against a running `prefect server start`."""
        import os

        os.environ["PREFECT_LOGGING_LEVEL"] = os.environ.get("MTAVG_SERVE_LOG_LEVEL", "INFO")  # served runs log to the UI
        from flows.deploy import require_server, serve_all
        from flows.params import AuditParams

        try:
            url = require_server()
        except RuntimeError as exc:
            fail(str(exc))
        params = _params(AuditParams, suite=suite, store=store)
        err_console.print(f"serving mtavg deployments against {url} (nightly cron '{cron}' {timezone}); Ctrl-C stops")
        serve_all(cron=cron, timezone=timezone, params=params, limit=limit)

    @app.command()
    def runs(
        store: Optional[str] = typer.Option(None, help="store URL"),
        limit: int = typer.Option(20, min=1),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """List recorded runs in the store, newest first."""
        from storage import Store

        st = Store(store)
        manifests = sorted((k for k in st.list("runs") if k.count("/") == 2 and k.endswith("/manifest.json")), reverse=True)[:limit]
        rows = []
        for key in manifests:
            try:
                m = st.get_json(key)
            except (KeyError, json.JSONDecodeError):
                continue
            rows.append({"run": m.get("run_id"), "flow": m.get("flow"), "finished": m.get("finished"), "counts": m.get("counts", {}),
                         "generators": [g["spec"] for g in m.get("generators", [])], "report": st.url_for(m["report"]) if m.get("report") else None})
        if as_json:
            print_json(rows)
            return
        table = Table(title=f"runs in {st.url}", title_justify="left")
        table.add_column("run", no_wrap=True)
        table.add_column("flow", no_wrap=True)
        table.add_column("generators")
        table.add_column("clips", justify="right")
        table.add_column("verdicts", justify="right")
        table.add_column("report", overflow="fold")
        for r in rows:
            table.add_row(r["run"] or "", r["flow"] or "", ", ".join(r["generators"]), str(r["counts"].get("clips", "")),
                          str(r["counts"].get("items", "")), r["report"] or "")
        console.print(table)


def _check_inputs(suite: str, generators: list[str], judges: list[str]) -> None:
    """Fail fast, before any Prefect start-up, on an unknown suite, generator or judge."""
    from diagnosers import registry as judges_registry
    from generators import registry as generators_registry
    from scenes import SceneFileError, load_suite
    from flows.work import load_plugins
    from storage import SpecError

    try:
        load_plugins()
    except ImportError as exc:
        fail(f"MTAVG_PLUGINS: {exc}")
    try:
        load_suite(suite)
    except (SceneFileError, ValueError, FileNotFoundError) as exc:
        fail(f"suite {suite!r}: {exc}")
    for reg, specs in ((generators_registry, generators), (judges_registry, judges)):
        for spec in specs:
            try:
                reg.config_for(spec)
            except SpecError as exc:
                fail(str(exc))
