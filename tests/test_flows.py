"""The Prefect flows end to end on the mini suite: audit, resume from the store, comparison, CLI gate."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # whole flows on the mini suite (offline, about a minute with the Prefect harness)

from diagnosers.profile import FailureProfile
from flows.params import AuditParams, CompareParams
from storage import Store

ROOT = Path(__file__).resolve().parents[1]
GENS = ["tinygen:flawed", "tinygen:clean"]


@pytest.fixture(scope="module", autouse=True)
def tiny_generator():
    """Register the test generator `tinygen` for this module only (other modules see the real registry)."""
    from generators.base import registry

    sys.path.insert(0, str(Path(__file__).parent))
    import flow_fakes  # noqa: F401  (registers `tinygen` on import)

    yield
    registry._entries.pop("tinygen", None)
    sys.modules.pop("flow_fakes", None)
    sys.path.remove(str(Path(__file__).parent))


def audit_params(store: Path, **kw) -> AuditParams:
    return AuditParams(suite="mini", generators=GENS, judges=["random"], store=str(store), executor="thread", **kw)


@pytest.fixture(scope="module")
def first_audit(prefect_harness, tmp_path_factory):
    from flows.audit import audit

    store = tmp_path_factory.mktemp("store")
    return store, audit(audit_params(store, run_id="first"))


def test_audit_writes_manifest_profiles_comparison_and_report(first_audit):
    store_path, result = first_audit
    store = Store(str(store_path))
    manifest = store.get_json("runs/first/manifest.json")
    assert manifest["suite"]["ref"] == "mini" and len(manifest["suite"]["hash"]) > 8
    assert [g["spec"] for g in manifest["generators"]] == GENS
    assert manifest["judges"][0]["name"] == "random" and manifest["taxonomy_version"]
    assert manifest["code_version"] and manifest["timings"]["wall_s"] > 0
    counts = manifest["counts"]
    assert counts["clips"] == 6 and counts["rendered"] == 6
    # 3 scenes × 2 generators + 1 drama chain each + 3 pairs
    assert counts["diagnoses"] == 6 + 2 + 3
    assert counts["items"] == sum(counts["verdicts"].values()) > 500
    assert {p["generator"] for p in result["profiles"]} == set(GENS)
    assert result["comparison"]["base"].startswith("tinygen:flawed")
    html = Path(result["report"]).read_text()
    assert html.startswith("<!doctype html>") and html.count("data:image/png;base64,") >= 3
    assert "Rogan" not in html or "corrected" in html
    for key in manifest["profiles"].values():
        FailureProfile.model_validate(store.get_json(key))
    assert store.get_json("runs/latest.json")["run_id"] == "first"


def test_rerun_does_only_what_is_missing_and_gives_equal_profiles(first_audit):
    from flows.audit import audit

    store_path, first = first_audit
    again = audit(audit_params(store_path, run_id="again"))
    assert again["counts"]["rendered"] == 0 and again["counts"]["asked"] == 0
    assert again["counts"]["cached"] == first["counts"]["items"]
    assert again["profiles"] == first["profiles"]
    forced = audit(audit_params(store_path, run_id="forced", force=True, report=False, pairwise=False, dramas=False))
    assert forced["counts"]["rendered"] == 6 and forced["counts"]["cached"] == 0 and forced["report"] is None


def test_two_renders_of_one_version_show_no_regression(prefect_harness, tmp_path):
    from flows.audit import compare_versions

    result = compare_versions(CompareParams(suite="mini", base="tinygen:flawed", candidate="tinygen:flawed", judge="random",
                                            base_seed=0, candidate_seed=1, store=str(tmp_path), executor="thread", report=False))
    assert result["comparison"]["regressions"] == [] and result["gate"] == []


class _Out:
    def __init__(self, result):
        self.returncode, self.stdout, self.stderr = result.exit_code, result.stdout, result.stderr


def _cli(*args: str) -> _Out:
    """Run `mtavg ARGS` in this process (the test generator is registered here already)."""
    from typer.testing import CliRunner

    from flows.cli import app

    return _Out(CliRunner().invoke(app, list(args), catch_exceptions=False))


def test_compare_cli_gates_on_regressions_from_profile_files(tmp_path, first_audit):
    store_path, result = first_audit
    store = Store(str(store_path))
    keys = list(store.get_json("runs/first/manifest.json")["profiles"].values())
    base = FailureProfile.model_validate(store.get_json(keys[0]))
    worse = base.model_copy(deep=True)
    mode = "sf.frozen_video"
    for unit in worse.flags:
        worse.flags[unit][mode] = True
        base.flags[unit][mode] = False
    (tmp_path / "base.json").write_text(base.model_dump_json())
    (tmp_path / "worse.json").write_text(worse.model_dump_json())
    same = _cli("compare", str(tmp_path / "base.json"), str(tmp_path / "base.json"), "--json")
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["gate"] == []
    # four units only: a 4/4 jump is not significant after Holm, so the gate holds...
    small = _cli("compare", str(tmp_path / "base.json"), str(tmp_path / "worse.json"))
    assert small.returncode == 0, small.stderr
    # ...while a 40-unit jump is, and a threshold above the jump lets it pass
    for p in (base, worse):
        p.flags = {f"{u}-{k}": dict(f) for u, f in p.flags.items() for k in range(10)}
    (tmp_path / "base.json").write_text(base.model_dump_json())
    (tmp_path / "worse.json").write_text(worse.model_dump_json())
    gated = _cli("compare", str(tmp_path / "base.json"), str(tmp_path / "worse.json"), "--json")
    assert gated.returncode == 1 and json.loads(gated.stdout)["gate"] == [mode]
    assert "gate failed" in gated.stderr
    assert _cli("compare", str(tmp_path / "base.json"), str(tmp_path / "worse.json"), "--threshold", "1.0").returncode == 0


def test_bad_input_fails_clearly_before_any_work(tmp_path):
    out = _cli("audit", "--suite", "mini", "-g", "nosuchgen", "--store", str(tmp_path))
    assert out.returncode == 2 and "nosuchgen" in out.stderr
    out = _cli("audit", "--suite", "mini", "-g", "tinygen:flawed", "--baseline", "tinygen:clean", "--store", str(tmp_path))
    assert out.returncode == 2 and "baseline" in out.stderr
    out = _cli("compare", str(tmp_path / "missing.json"), "tinygen:clean")
    assert out.returncode == 2 and "missing.json" in out.stderr
    with pytest.raises(ValueError, match="repeat"):
        AuditParams(generators=["tinygen", "tinygen"])
    assert not any(tmp_path.iterdir())


def test_evaluate_judges_stores_a_calibration_that_profiles_use(prefect_harness, first_audit):
    from diagnosers.evaluation import Calibration, ModeCalibration, judge_key, store_calibration
    from flows.evaluate import evaluate_judges
    from flows.params import EvaluateParams
    from flows.results import profile_for
    from flows.work import judge_for

    store_path, result = first_audit
    out = evaluate_judges(EvaluateParams(suite="mini", judges=["random"], generator="tinygen:flawed", clips=3,
                                         store=str(store_path), executor="thread"))
    summary = out["judges"][0]
    assert summary["judge"] == "random" and Store(str(store_path)).exists(summary["calibration"])
    # three clips are too few labels to correct with: profiles stay uncorrected
    store = Store(str(store_path))
    manifest = store.get_json("runs/first/manifest.json")
    profile = FailureProfile.model_validate(store.get_json(manifest["profiles"]["tinygen:flawed | random"]))
    assert profile.corrected_modes == []
    # a calibration measured on enough labels turns on the Rogan–Gladen rate for that mode only
    judge = judge_for("random")
    cal = Calibration(judge="random", judge_version=judge.version, judge_key=judge_key(judge), generator="tinygen:flawed",
                      suite="mini", clips=80, taxonomy_version="x", created="now",
                      modes={"sf.frozen_video": ModeCalibration(mode="sf.frozen_video", tp=40, fn=10, tn=45, fp=5, asked=100, answered=100)})
    store_calibration(store, cal)
    again = profile_for(store, "mini", [], _refs_for(store, "tinygen:flawed"), generator="tinygen:flawed", judge="random")
    assert again.corrected_modes == ["sf.frozen_video"]
    frozen = again.mode("sf.frozen_video")
    assert frozen.corrected.sensitivity == 0.8 and frozen.corrected.specificity == 0.9


def _refs_for(store: Store, generator: str):
    """The diagnosis refs of one generator's scene clips, rebuilt from the store (what a reader without the flow has)."""
    from diagnosers.runner import judge_identity
    from flows.work import DiagnosisRef, judge_for

    identity = judge_identity(judge_for("random"))
    refs = []
    for key in store.list(f"clips/{generator.replace(':', '-')}"):
        if key.endswith("/manifest.json"):
            m = store.get_json(key)
            refs.append(DiagnosisRef(judge="random", judge_identity=identity, unit=m["scene"], media_sha256=m["sha256"],
                                     batch_key="", items=0, asked=0, cached=0, counts={}, elapsed_s=0))
    return refs


def test_a_crashing_render_is_reported_and_the_rest_of_the_audit_finishes(prefect_harness, tmp_path):
    from flows.audit import audit

    result = audit(AuditParams(suite="mini", generators=["tinygen:flawed?fail_scene=park-bench", "tinygen:clean"], judges=["random"],
                               store=str(tmp_path), executor="thread", report=False))
    assert result["counts"]["clips"] == 5 and result["counts"]["failed_tasks"] >= 1
    flawed = next(p for p in result["profiles"] if p["generator"].startswith("tinygen:flawed"))
    # park-bench is missing; kitchen-morning, kitchen-quarrel and the drama over those two remain
    assert flawed["units"] == 3
    assert result["comparison"]["modes"][0]["pairs"] <= 3


def test_render_suite_and_diagnose_clips_reuse_the_store(first_audit):
    from flows.audit import diagnose_clips, render_suite
    from flows.params import DiagnoseParams, RenderParams

    store_path, first = first_audit
    clips = render_suite(RenderParams(suite="mini", generators=GENS, store=str(store_path), executor="thread"))
    assert len(clips) == 6 and not any(c["rendered"] for c in clips)
    done = diagnose_clips(DiagnoseParams(suite="mini", generators=GENS, judges=["random"], store=str(store_path), executor="thread"))
    assert done["diagnoses"] == first["counts"]["diagnoses"] and done["verdicts"] == first["counts"]["verdicts"]
