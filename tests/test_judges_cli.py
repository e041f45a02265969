"""`mtavg judges evaluate` end to end against the local Gemini server: modality ablation, verdict cache."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from fakes.gemini_server import FakeGemini

KEY = "test-key-ablation"


def _evaluate(server, store: str, *extra: str):
    from flows.cli import app

    spec = f"gemini:flash?base_url={server.base_url}&rps=50&burst=50&backoff_s=0"
    args = ["judges", "evaluate", "--judge", spec, "--suite", "mini", "--generator", "procedural:random",
            "--clips", "2", "--workers", "1", "--store", store, "--no-save", "--json", *extra]
    return CliRunner().invoke(app, args, catch_exceptions=False)


def test_modality_ablation_table_and_no_repeat_calls(tmp_path, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    store = str(tmp_path / "store")
    with FakeGemini(api_key=KEY) as server:
        result = _evaluate(server, store, "--modalities", "full,no_audio,no_video,text_only")
        assert result.exit_code == 0, result.output
        table = json.loads(result.stdout)
        assert [row["modality"] for row in table["rows"]] == ["full", "no_audio", "no_video", "text_only"]
        assert all(row["coverage"] for row in table["rows"])
        # the judge saw what each modality allows: text_only requests carry no media at all
        assert (False, False) in server.media_seen and (True, True) in server.media_seen
        asked = sum(server.calls_per_item.values())
        again = _evaluate(server, store, "--modalities", "full")
        assert again.exit_code == 0, again.output
        assert sum(server.calls_per_item.values()) == asked  # answered items come from the verdict cache


def test_a_judge_without_modalities_is_refused_clearly(tmp_path):
    from flows.cli import app

    result = CliRunner().invoke(app, ["judges", "evaluate", "--judge", "probes", "--suite", "mini", "--clips", "1",
                                      "--store", str(tmp_path / "s"), "--modalities", "full,no_audio"])
    assert result.exit_code == 2
    assert "no modality setting" in result.output
