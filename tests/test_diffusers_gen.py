"""The diffusers generator with tiny random pipelines (Wan, LTX-2) built from the shipped configs."""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch

from generators import build_generator
from generators.diffusers_gen import DiffusersConfig, choose_device, choose_dtype, frames_for, tiny_pipeline_dir
from generators.mux import probe_clip
from generators.prompts import scene_prompt, shot_prompts
from scenes import Scene

# small enough for a shared 2-core box: 5 native frames per shot, one denoising step, tiny sizes
WAN = "diffusers:tiny-wan?max_frames=5&num_inference_steps=1&height=32&width=48&out_width=160&out_height=96&fps=10"
LTX2 = "diffusers:tiny-ltx2?max_frames=5&num_inference_steps=1&height=32&width=64&out_width=160&out_height=96&fps=10"


@pytest.fixture(scope="module")
def scene() -> Scene:
    return Scene.model_validate({
        "id": "two-hander", "title": "Two lines",
        "setting": {"location": "small kitchen", "time_of_day": "night", "lighting": "low warm practical"},
        "atmosphere": {"mood": "tense"},
        "characters": [
            {"id": "mara", "name": "Mara", "look": "tall, red coat, short dark hair", "voice": {"gender": "female", "pitch": 4}},
            {"id": "tom", "name": "Tom", "look": "stocky, grey sweater, beard", "voice": {"gender": "male", "pitch": -3}},
        ],
        "lines": [
            {"speaker": "mara", "text": "You said seven.", "emotion": "angry", "addressee": "tom", "pause_before_s": 0.8},
            {"speaker": "tom", "text": "The train stopped.", "emotion": "defensive", "addressee": "mara", "pause_before_s": 1.0},
        ],
        "shots": [
            {"size": "wide", "subjects": ["mara", "tom"], "lines": [0]},
            {"size": "close_up", "subjects": ["tom"], "movement": "push_in", "lines": [1]},
        ],
    })


def decode(path):
    with av.open(str(path)) as c:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
    with av.open(str(path)) as c:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
        audio = np.concatenate([r.to_ndarray().reshape(-1) for f in c.decode(audio=0) for r in resampler.resample(f)])
    return frames, audio


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


def test_tiny_wan_renders_a_scene_with_voiced_dialogue_on_the_planned_timeline(scene, tmp_path):
    gen = build_generator(WAN)
    rendered = gen.render(scene, 7, tmp_path / "a")
    m = rendered.manifest
    assert m.status.value == "ok" and m.timings == "planned" and m.generator_name == "diffusers"
    assert m.extra["pipeline"] == "WanPipeline" and m.extra["audio"] == "voices:espeak"
    assert m.extra["device"] == choose_device("auto")
    assert [s["native_frames"] for s in m.extra["shots"]] == [5, 5]
    assert sorted(m.stems) == ["mara", "tom"] and all((tmp_path / "a" / p).is_file() for p in m.stems.values())

    info = probe_clip(rendered.video_path)
    assert (info["width"], info["height"]) == (160, 96)
    assert abs(info["duration_s"] - m.duration_s) <= 1.0 / m.fps + 0.05
    frames, audio = decode(rendered.video_path)
    assert frames.std() > 1.0  # a real picture, not a blank

    # speech sits where the manifest says the lines are; the pauses before them are quiet
    spans = [(line.start, line.end) for line in m.lines]
    assert [line.speaker for line in m.lines] == ["mara", "tom"]
    speech = [rms(audio[int(a * 16000) : int(b * 16000)]) for a, b in spans]
    gaps = [rms(audio[int((a - 0.6) * 16000) : int((a - 0.1) * 16000)]) for a, _ in spans]
    assert min(speech) > 10 * max(gaps)
    assert m.shots[1].start == pytest.approx(m.lines[0].end, abs=1e-3)

    # same seed, fresh generator (pipeline from the cache folder): the same clip, byte for byte
    again = build_generator(WAN).render(scene, 7, tmp_path / "b")
    assert again.manifest.sha256 == m.sha256
    # another seed: other per-shot seeds, another picture
    other = gen.render(scene, 8, tmp_path / "c")
    assert other.manifest.extra["shots"][0]["seed"] != m.extra["shots"][0]["seed"]
    assert not np.array_equal(decode(other.video_path)[0], frames)


def test_tiny_ltx2_uses_the_pipelines_own_audio(scene, tmp_path):
    gen = build_generator(LTX2)
    rendered = gen.render(scene, 1, tmp_path)
    m = rendered.manifest
    assert m.extra["pipeline"] == "LTX2Pipeline" and m.extra["audio"] == "pipeline"
    assert list(m.stems) == ["pipeline"]
    info = probe_clip(rendered.video_path)
    assert info["sample_rate"] == m.sample_rate and abs(info["duration_s"] - m.duration_s) <= 0.2
    _, audio = decode(rendered.video_path)
    assert rms(audio) > 1e-4  # the vocoder's sound, not silence


def test_versions_are_stable_and_follow_the_config():
    a, b = build_generator("diffusers:tiny-wan"), build_generator("diffusers:tiny-wan")
    assert a.version == b.version and a.version.startswith("tiny-wan-r1+")
    assert build_generator("diffusers:tiny-wan?num_inference_steps=3").version != a.version
    hub = build_generator("diffusers?model=Wan-AI/Wan2.1-T2V-1.3B-Diffusers&revision=abc123")
    assert hub.version.startswith("Wan-AI/Wan2.1-T2V-1.3B-Diffusers@abc123+")
    assert build_generator("diffusers:tiny-ltx2").version.startswith("tiny-ltx2-r1+")


def test_local_pipeline_folder_loads_by_path(tmp_path):
    folder = tiny_pipeline_dir("tiny-wan")
    gen = build_generator(f"diffusers?model={folder}&max_frames=5&num_inference_steps=1&height=32&width=48")
    assert gen.version.startswith(folder.name)
    frames, audio = gen._call_pipeline("a tall woman in a red coat", "blurry", 5, seed=3)
    assert frames.shape == (5, 32, 48, 3) and audio is None
    typo = build_generator(f"diffusers@{_yaml(tmp_path, model=str(folder), call_kwargs={'max_seq_len': 8})}")
    with pytest.raises(ValueError, match=r"\['max_seq_len'\] are not arguments of WanPipeline"):
        typo._call_pipeline("a man", "", 5, seed=0)


def _yaml(tmp_path, **settings) -> str:
    import yaml

    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(settings))
    return str(path)


def test_device_and_dtype_follow_the_hardware():
    assert choose_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert choose_dtype("auto", "cpu") is torch.float32
    assert choose_dtype("float16", "cpu") is torch.float16
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA"):
            choose_device("cuda")
    else:
        assert choose_dtype("auto", "cuda") in (torch.bfloat16, torch.float16)


def test_frames_follow_the_vae_grid_and_the_cap():
    cfg = DiffusersConfig(model="tiny-wan", model_fps=8, max_frames=17)
    assert frames_for(1.0, cfg, 4) == 9  # 8 frames wanted -> 4k+1
    assert frames_for(10.0, cfg, 4) == 17  # capped
    assert frames_for(0.01, cfg, 4) == 1
    assert frames_for(1.0, cfg, 8) == 9


def test_prompts_carry_the_script(scene):
    prompts = shot_prompts(scene)
    assert len(prompts) == 2
    first, second = prompts[0].prompt, prompts[1].prompt
    assert "wide shot" in first and "red coat" in first and "grey sweater" in first
    assert "angry" in first and '"You said seven."' in first and "to Tom" in first
    assert "close-up" in second and "push-in" in second and "red coat" not in second
    assert "low warm practical lighting" in first and "tense mood" in first and "night" in first
    assert "blurry" in prompts[0].negative_prompt
    whole = scene_prompt(scene)
    assert "Shot 1" in whole and "Shot 2" in whole and "female voice" in whole
    assert len(scene_prompt(scene, max_chars=200)) <= 200


def test_elevenlabs_voices_through_a_config_file(scene, tmp_path, monkeypatch):
    """Dialogue from ElevenLabs (the real SDK against the local fake), settings in a YAML config."""
    from tests.fakes.elevenlabs_server import FakeElevenLabs

    with FakeElevenLabs(api_key="sk-el-test") as server:
        monkeypatch.setenv("ELEVENLABS_API_KEY", "sk-el-test")
        voices = f"elevenlabs?base_url={server.base_url}&output_format=pcm_16000&cache=false"
        config = tmp_path / "wan-el.yaml"
        config.write_text(f"max_frames: 5\nnum_inference_steps: 1\nheight: 32\nwidth: 48\nout_width: 160\n"
                          f"out_height: 96\nfps: 10\nvoices: '{voices}'\n")
        gen = build_generator(f"diffusers:tiny-wan@{config}")
        rendered = gen.render(scene, 0, tmp_path / "clip")
        assert rendered.manifest.extra["audio"] == f"voices:{voices}"
        assert [r.body["text"] for r in server.requests] == [line.text for line in scene.lines]
        _, audio = decode(rendered.video_path)
        first = rendered.manifest.lines[0]
        assert rms(audio[int(first.start * 16000) : int(first.end * 16000)]) > 0.01


def test_pipeline_audio_from_a_silent_pipeline_is_a_clear_error(scene, tmp_path):
    gen = build_generator(WAN + "&audio=pipeline")
    with pytest.raises(ValueError, match="WanPipeline returns no audio; use audio=voices"):
        gen.render(scene, 0, tmp_path)
