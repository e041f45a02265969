"""flows.work builds components for a run: API keys from Prefect Secret blocks, global limits, the run's store."""

from __future__ import annotations

import contextlib

import pytest


@pytest.fixture
def secret_block(prefect_harness):
    from prefect.blocks.system import Secret

    Secret(value="sk-from-block-123").save("mtavg-test-gemini-key", overwrite=True)
    return "mtavg-test-gemini-key"


def test_judge_key_comes_from_a_prefect_secret_block_and_calls_take_a_global_slot(secret_block, tmp_path, monkeypatch):
    from flows import work

    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    entered: list[str] = []

    @contextlib.contextmanager
    def fake_concurrency(names, occupy=1, strict=False):
        entered.append(names)
        yield

    monkeypatch.setattr("prefect.concurrency.sync.concurrency", fake_concurrency)
    spec = f"gemini:flash?base_url=http://127.0.0.1:9&api_key_secret={secret_block}&global_limit=gemini-key"
    judge = work.judge_for(spec, str(tmp_path / "store"))
    assert judge._api_key == "sk-from-block-123"
    assert "sk-from-block-123" not in judge._redact("key sk-from-block-123")
    with judge.slot():
        pass
    assert entered == ["gemini-key"]
    assert judge.store.url == str(tmp_path / "store")


def test_a_missing_secret_block_is_a_clear_error(prefect_harness, tmp_path):
    from flows import work

    with pytest.raises(ValueError, match="no Prefect Secret block named 'nope'"):
        work.judge_for("gemini:flash?base_url=http://127.0.0.1:9&api_key_secret=nope", None)


def test_api_generators_keep_their_journal_in_the_runs_store(tmp_path):
    from flows import work

    gen = work.generator_for("sora?base_url=http://127.0.0.1:9", str(tmp_path / "s3like"))
    assert gen.store.url == str(tmp_path / "s3like")
