"""Veo (google-genai) and Sora (openai) generators against local servers that speak their HTTP APIs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from generators import build_generator
from generators.api.base import GenerationError, plan_segments
from generators.api.journal import JobState, Journal
from generators.mux import probe_clip
from scenes import Scene, load_suite
from storage import Store, sha256_file
from tests.fakes.sora_server import API_KEY as SORA_KEY
from tests.fakes.sora_server import SoraServer
from tests.fakes.veo_server import API_KEY as VEO_KEY
from tests.fakes.veo_server import VeoServer

ROOT = Path(__file__).resolve().parents[1]
FAST = "poll_interval_s=0.02&timeout_s=30&max_retries=2&claim_wait_s=0.5"


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    monkeypatch.setenv("GOOGLE_API_KEY", VEO_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", SORA_KEY)


@pytest.fixture(scope="module")
def short_scene() -> Scene:
    """One shot, two short lines: one segment for either provider."""
    return Scene.model_validate({
        "id": "doorway", "title": "At the door",
        "setting": {"location": "apartment doorway", "time_of_day": "evening", "lighting": "hallway bulb"},
        "atmosphere": {"mood": "tense", "ambience": ["rain on window"], "sounds": [{"cue": "door slam", "at_line": 1}]},
        "characters": [
            {"id": "ana", "name": "Ana", "look": "yellow raincoat", "voice": {"gender": "female"}},
            {"id": "ben", "name": "Ben", "look": "black suit", "voice": {"gender": "male"}},
        ],
        "lines": [
            {"speaker": "ana", "text": "You came back.", "emotion": "surprised", "addressee": "ben"},
            {"speaker": "ben", "text": "I forgot my keys.", "emotion": "guilty", "addressee": "ana"},
        ],
        "shots": [{"size": "medium", "subjects": ["ana", "ben"], "lines": [0, 1]}],
    })


def veo(server: VeoServer, store: Store, extra: str = ""):
    return build_generator(f"veo?base_url={server.base_url}&{FAST}{extra}", store=store)


def sora(server: SoraServer, store: Store, extra: str = ""):
    return build_generator(f"sora?base_url={server.base_url}&{FAST}{extra}", store=store)


def test_veo_renders_a_long_scene_in_segments_and_never_pays_twice(tmp_store, tmp_path):
    scene = load_suite("mini").scene("kitchen-morning")
    segments = plan_segments(scene, (4, 6, 8))
    assert len(segments) >= 2 and all(s.seconds in (4, 6, 8) for s in segments)
    with VeoServer() as server:
        first = veo(server, tmp_store).render(scene, 3, tmp_path / "a")
        m = first.manifest
        assert m.status.value == "ok" and m.timings == "planned" and m.generator_name == "veo"
        assert server.creates == len(segments)
        sent = server.requests[0]
        assert sent["parameters"]["generateAudio"] is True and sent["parameters"]["seed"] == 3
        assert "Mara" in sent["instances"][0]["prompt"] and sent["parameters"]["negativePrompt"]
        info = probe_clip(first.video_path)
        assert info["duration_s"] == pytest.approx(sum(s.seconds for s in segments), abs=0.15)
        assert m.duration_s == pytest.approx(info["duration_s"], abs=1e-6)
        assert [line.index for line in m.lines] == list(range(len(scene.lines)))
        assert m.cost_usd == pytest.approx(0.40 * sum(s.seconds for s in segments))
        # a fresh generator (another process, say) finds every request done in the store
        again = veo(server, tmp_store).render(scene, 3, tmp_path / "b")
        assert server.create_attempts == len(segments) and again.manifest.sha256 == m.sha256
        # another seed is another paid request
        veo(server, tmp_store).render(scene, 4, tmp_path / "c")
        assert server.creates == 2 * len(segments)


def test_veo_crash_after_submit_resumes_polling_without_a_second_create(tmp_path, short_scene):
    """SIGKILL the rendering process while its job runs; the rerun polls the same operation."""
    store_dir = tmp_path / "store"
    with VeoServer(polls_to_finish=10**9) as server:
        script = textwrap.dedent(f"""
            import sys; sys.path.insert(0, {str(ROOT)!r})
            from pathlib import Path
            from generators import build_generator
            from scenes import Scene
            from storage import Store
            scene = Scene.model_validate_json({short_scene.model_dump_json()!r})
            gen = build_generator("veo?base_url={server.base_url}&poll_interval_s=0.05&timeout_s=600", store=Store({str(store_dir)!r}))
            gen.render(scene, 0, Path({str(tmp_path / "w")!r}))
        """)
        env = {**os.environ, "GOOGLE_API_KEY": VEO_KEY}
        proc = subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while server.polls < 2 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)
            assert server.creates == 1 and server.polls >= 2, "the job never got submitted and polled"
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        store = Store(str(store_dir))
        records = Journal(store, "veo").records()
        assert [r.state for r in records] == [JobState.submitted]
        server.polls_to_finish = 1
        rendered = veo(server, store).render(short_scene, 0, tmp_path / "again")
        assert rendered.manifest.status.value == "ok"
        assert server.creates == 1 and server.create_attempts == 1
        assert Journal(store, "veo").records()[0].state is JobState.done


def test_veo_policy_refusals_become_failed_clips_and_are_not_resent(tmp_store, tmp_path, short_scene):
    blocked = short_scene.model_copy(update={"title": "The forbidden door"})
    filtered = short_scene.model_copy(update={"title": "The filtered door"})
    with VeoServer(polls_to_finish=1) as server:
        m = veo(server, tmp_store).render(blocked, 0, tmp_path / "a").manifest
        assert m.status.value == "failed" and m.video is None and "usage guidelines" in m.failure
        assert m.failure.startswith("segment 0: policy:")
        attempts = server.create_attempts
        assert veo(server, tmp_store).render(blocked, 0, tmp_path / "b").manifest.status.value == "failed"
        assert server.create_attempts == attempts  # a refusal is final: no second request
        m = veo(server, tmp_store).render(filtered, 0, tmp_path / "c").manifest
        assert m.status.value == "failed" and "filtered" in m.failure and "safety filters" in m.failure


def test_veo_transient_errors_are_retried_then_raised_and_resumable(tmp_store, tmp_path, short_scene):
    with VeoServer(polls_to_finish=1, script=["500", "429"]) as server:
        m = veo(server, tmp_store).render(short_scene, 0, tmp_path / "a").manifest
        assert m.status.value == "ok" and server.create_attempts == 3 and server.creates == 1
    with VeoServer(polls_to_finish=1, script=["500"] * 3) as server:
        gen = veo(server, tmp_store, "&max_retries=0")
        with pytest.raises(GenerationError, match="rejected"):
            gen.render(short_scene, 9, tmp_path / "b")
        assert not any(r.state is JobState.failed for r in Journal(tmp_store, "veo").records())
        server.faults.script.clear()
        assert gen.render(short_scene, 9, tmp_path / "c").manifest.status.value == "ok"
        assert server.creates == 1


def test_sora_end_to_end_and_idempotent(tmp_store, tmp_path, short_scene):
    with SoraServer() as server:
        first = sora(server, tmp_store).render(short_scene, 0, tmp_path / "a")
        m = first.manifest
        assert m.status.value == "ok" and m.generator_version.startswith("sora-2+")
        form = server.requests[0]
        (segment,) = plan_segments(short_scene, (4, 8, 12))
        assert form["model"] == "sora-2" and form["seconds"] == str(segment.seconds) and form["size"] == "1280x720"
        assert "Ana" in form["prompt"] and "door slam" in form["prompt"]
        assert m.sha256 == sha256_file(str(first.video_path))
        info = probe_clip(first.video_path)
        assert (info["width"], info["height"]) == (160, 90) and info["duration_s"] == pytest.approx(segment.seconds, abs=0.1)
        sora(server, tmp_store).render(short_scene, 0, tmp_path / "b")
        assert server.creates == 1 and server.downloads == 1


def test_sora_crash_after_submit_resumes(tmp_store, tmp_path, short_scene, monkeypatch):
    from generators.api.sora import SoraProvider

    with SoraServer(polls_to_finish=3) as server:
        gen = sora(server, tmp_store)
        real_poll = SoraProvider.poll

        def crash(self, job_id):
            raise SystemExit("killed while polling")

        monkeypatch.setattr(SoraProvider, "poll", crash)
        with pytest.raises(SystemExit):
            gen.render(short_scene, 5, tmp_path / "a")
        monkeypatch.setattr(SoraProvider, "poll", real_poll)
        assert server.creates == 1
        m = sora(server, tmp_store).render(short_scene, 5, tmp_path / "b").manifest
        assert m.status.value == "ok" and server.creates == 1


def test_sora_unconfirmed_create_is_not_resent_blindly(tmp_store, tmp_path, short_scene, monkeypatch):
    """The process dies inside the create call: the journal says `submitting`, the rerun refuses to guess."""
    with SoraServer(polls_to_finish=1) as server:
        real_put = Journal.put

        def die_on_submitted(self, record):
            if record.state is JobState.submitted:
                raise SystemExit("killed before the job id was written")
            return real_put(self, record)

        monkeypatch.setattr(Journal, "put", die_on_submitted)
        with pytest.raises(SystemExit):
            sora(server, tmp_store).render(short_scene, 0, tmp_path / "a")
        monkeypatch.setattr(Journal, "put", real_put)
        assert server.creates == 1
        with pytest.raises(GenerationError, match="resubmit_unconfirmed"):
            sora(server, tmp_store).render(short_scene, 0, tmp_path / "b")
        assert server.create_attempts == 1
        m = sora(server, tmp_store, "&resubmit_unconfirmed=true").render(short_scene, 0, tmp_path / "c").manifest
        assert m.status.value == "ok" and server.creates == 2  # asked for explicitly


def test_sora_moderation_at_create_and_after_the_job(tmp_store, tmp_path, short_scene):
    with SoraServer(polls_to_finish=1) as server:
        m = sora(server, tmp_store).render(short_scene.model_copy(update={"title": "forbidden"}), 0, tmp_path / "a").manifest
        assert m.status.value == "failed" and "moderation_blocked" in m.failure and server.creates == 0
        m = sora(server, tmp_store).render(short_scene.model_copy(update={"title": "filtered"}), 0, tmp_path / "b").manifest
        assert m.status.value == "failed" and m.failure.startswith("segment 0: policy: moderation_blocked")
        assert m.cost_usd == 0.0


def test_sora_rate_limit_is_retried(tmp_store, tmp_path, short_scene):
    with SoraServer(polls_to_finish=1, script=["429", "500"]) as server:
        m = sora(server, tmp_store).render(short_scene, 0, tmp_path).manifest
        assert m.status.value == "ok" and server.create_attempts == 3 and server.creates == 1


def test_keys_and_identity(tmp_store, monkeypatch, short_scene, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY")
    with SoraServer() as server:
        with pytest.raises(GenerationError, match="OPENAI_API_KEY"):
            sora(server, tmp_store).render(short_scene, 0, tmp_path)
        assert server.create_attempts == 0
    from generators import clip_key

    a = build_generator("sora?base_url=http://127.0.0.1:1/v1&poll_interval_s=1", store=tmp_store)
    b = build_generator("sora?base_url=http://127.0.0.1:2/v1&poll_interval_s=5", store=tmp_store)
    assert a.version == b.version and clip_key(a, short_scene, 0) == clip_key(b, short_scene, 0)
    assert build_generator("sora:pro", store=tmp_store).version.startswith("sora-2-pro+")
    assert build_generator("veo:fast", store=tmp_store).version.startswith("veo-3.1-fast-generate-001+")


def test_unreachable_api_leaves_nothing_in_flight(tmp_store, tmp_path, short_scene):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gen = build_generator(f"sora?base_url=http://127.0.0.1:{port}/v1&max_retries=0", store=tmp_store)
    with pytest.raises(GenerationError, match="cannot reach"):
        gen.render(short_scene, 0, tmp_path)
    assert Journal(tmp_store, "sora").records() == []


def test_two_processes_rendering_one_clip_make_one_create_call(tmp_store, tmp_path, short_scene):
    """Two audits into one store at once: one claims and submits, the other polls the same job."""
    import threading

    with SoraServer(polls_to_finish=4) as server:
        results: dict[int, object] = {}

        def render(i: int) -> None:
            gen = sora(server, tmp_store, "&claim_wait_s=20")
            results[i] = gen.render(short_scene, 0, tmp_path / str(i)).manifest

        threads = [threading.Thread(target=render, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert server.creates == 1 and server.create_attempts == 1
        assert {m.status.value for m in results.values()} == {"ok"}
        assert len({m.sha256 for m in results.values()}) == 1
