"""Crash safety: an audit killed with SIGKILL resumes to the same results; two audits share one store safely."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage import Store

pytestmark = pytest.mark.slow  # audits in subprocesses against the session's Prefect server

ROOT = Path(__file__).resolve().parents[1]
# a short sleep per render makes the audit slow enough to be killed midway
GENS = ["tinygen:flawed?delay_s=0.3", "tinygen:clean?delay_s=0.3"]


def _env() -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    # the subprocesses use the session's Prefect server instead of starting their own
    return {**os.environ, "PYTHONPATH": str(Path(__file__).parent), "MTAVG_PLUGINS": "flow_fakes",
            "PREFECT_API_URL": PREFECT_API_URL.value() or ""}


def _start(store: Path, run_id: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "flows.cli", "audit", "--suite", "mini", "-j", "random", "--store", str(store),
            "--workers", "1", "--no-pairwise", "--run-id", run_id, "--json"]
    for g in GENS:
        args += ["-g", g]
    return subprocess.Popen(args, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out)


def _profiles(store: Path, run_id: str) -> dict[str, dict]:
    st = Store(str(store))
    manifest = st.get_json(f"runs/{run_id}/manifest.json")
    return {name: st.get_json(key) for name, key in manifest["profiles"].items()}


def _check_sound(store: Path) -> int:
    """Every artifact under its final name is whole: JSON parses, every clip decodes to the end."""
    import av

    checked = 0
    for path in store.rglob("*"):
        if not path.is_file() or path.name.startswith(".tmp-"):
            continue
        if path.suffix in (".json", ".html"):
            text = path.read_text()
            if path.suffix == ".json":
                json.loads(text)
            else:
                assert text.rstrip().endswith("</html>"), path
        elif path.suffix == ".mp4":
            with av.open(str(path)) as container:
                assert sum(1 for _ in container.decode(video=0)) > 5, path
        checked += 1
    return checked


@pytest.fixture(scope="module")
def shared_store(prefect_harness, tmp_path_factory):
    """Two audits started at once into one store, both left to finish."""
    store = tmp_path_factory.mktemp("shared")
    first, second = _start(store, "one"), _start(store, "two")
    return store, _finish(first), _finish(second)


def test_two_audits_at_once_leave_no_corrupt_artifact(shared_store):
    store, one, two = shared_store
    assert _check_sound(store) > 20
    assert one["counts"]["clips"] == two["counts"]["clips"] == 6
    assert set(one["counts"]["verdicts"]) == {"answered"} and set(two["counts"]["verdicts"]) == {"answered"}
    assert _profiles(store, "one") == _profiles(store, "two")


def test_sigkill_midway_then_rerun_equals_an_uninterrupted_run(shared_store, tmp_path):
    reference_store, _, _ = shared_store
    store = tmp_path / "store"
    proc = _start(store, "killed")
    deadline = time.time() + 180
    while time.time() < deadline and len(list(store.glob("clips/*/*/manifest.json"))) < 2:
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done_before = len(list(store.glob("clips/*/*/manifest.json")))
    assert 2 <= done_before < 6 and not (store / "runs/killed/manifest.json").exists()
    _check_sound(store)

    resumed = _finish(_start(store, "resumed"))
    assert resumed["counts"]["rendered"] <= 6 - done_before
    assert _profiles(store, "resumed") == _profiles(reference_store, "one")
