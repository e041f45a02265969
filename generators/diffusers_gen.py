"""The diffusers generator: renders a scene shot by shot with a text-to-video pipeline and adds dialogue.

    diffusers:tiny-wan                 tiny random WanPipeline built from generators/configs/tiny-wan
    diffusers:tiny-ltx2                tiny random LTX2Pipeline (joint audio-video) from configs/tiny-ltx2
    diffusers?model=Wan-AI/Wan2.1-T2V-1.3B-Diffusers&revision=main&num_inference_steps=30
    diffusers?model=/models/ltx-2&cpu_offload=true

Per shot: one prompt from the script (`generators.prompts`), one seed derived from (clip seed, scene,
shot), one pipeline call at the model's size and frame rate; the frames are fitted to the shot's
planned span (nearest frame in time) and scaled to the output size. Sound: the pipeline's own audio
for joint audio-video pipelines (LTX-2), else each line spoken by a voice backend (espeak-ng,
ElevenLabs) placed on the planned timeline and mixed with pydub. The manifest says the timings are
planned (`timings="planned"`): nothing here measures where the picture's mouths actually move.
"""

from __future__ import annotations

import inspect
import math
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from generators.base import Clip, LineTiming, Rendered, ShotTiming, clip_key, config_hash, registry
from generators.prompts import DEFAULT_NEGATIVE_PROMPT, shot_prompts
from scenes import Scene, Timeline, layout_timeline, plan_timeline
from storage import ComponentSpec, content_key, mtavg_home, sha256_file

CONFIGS_DIR = Path(__file__).resolve().parent / "configs"
TINY_PIPELINES = ("tiny-wan", "tiny-ltx2")
TINY_RECIPE_VERSION = "r1"  # bump when the tiny configs or the weight seeding change: new cache folder


class DiffusersConfig(BaseModel):
    """How to load the pipeline, how to call it per shot, and what the clip looks and sounds like."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(..., description="hub id, local pipeline folder, or tiny-wan / tiny-ltx2")
    revision: str | None = Field(None, description="hub revision (branch, tag or commit); part of the version")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    cpu_offload: bool = Field(False, description="enable_model_cpu_offload on CUDA (large models on small GPUs)")
    # per-shot pipeline call (the same argument names as every diffusers video pipeline)
    height: int = Field(480, ge=16, le=2160, description="model render height (a multiple the VAE accepts)")
    width: int = Field(832, ge=16, le=3840)
    model_fps: float = Field(16.0, gt=0, le=60, description="frame rate the model renders at")
    max_frames: int = Field(81, ge=1, le=1000, description="cap on frames per shot; longer shots hold frames")
    num_inference_steps: int = Field(30, ge=1, le=200)
    guidance_scale: float = Field(5.0, ge=0.0, le=30.0)
    negative_prompt: str = DEFAULT_NEGATIVE_PROMPT
    call_kwargs: dict[str, Any] = Field(default_factory=dict, description="extra pipeline arguments")
    # output clip
    fps: float = Field(25.0, gt=0, le=60)
    out_width: int = Field(640, ge=16, le=3840)
    out_height: int = Field(360, ge=16, le=2160)
    sample_rate: int = Field(48000, ge=8000, le=96000)
    audio: Literal["auto", "pipeline", "voices"] = Field(
        "auto", description="pipeline = the pipeline's own audio; voices = TTS dialogue; auto = pipeline if it has audio"
    )
    voices: str = Field("espeak", description="voice backend spec for the dialogue (espeak, elevenlabs?...)")


_TINY_CALL = {"max_sequence_length": 32}
_TINY_LTX2_CALL = {  # the legacy sampling knobs diffusers' fast tests pin (no STG, no modality guidance)
    **_TINY_CALL, "stg_scale": 0.0, "modality_scale": 1.0, "guidance_rescale": 0.0, "audio_guidance_scale": 1.0,
    "audio_stg_scale": 0.0, "audio_modality_scale": 1.0, "audio_guidance_rescale": 0.0,
    "spatio_temporal_guidance_blocks": None, "use_cross_timestep": False,
}
PRESETS: dict[str, dict[str, Any]] = {
    "tiny-wan": dict(model="tiny-wan", height=48, width=80, model_fps=8.0, max_frames=17, num_inference_steps=2,
                     guidance_scale=4.0, fps=12.0, out_width=320, out_height=180, audio="voices", call_kwargs=_TINY_CALL),
    "tiny-ltx2": dict(model="tiny-ltx2", height=64, width=96, model_fps=8.0, max_frames=17, num_inference_steps=2,
                      guidance_scale=1.0, fps=12.0, out_width=320, out_height=180, audio="pipeline",
                      call_kwargs=_TINY_LTX2_CALL),
    "wan-1.3b": dict(model="Wan-AI/Wan2.1-T2V-1.3B-Diffusers", height=480, width=832, model_fps=16.0, max_frames=81,
                     num_inference_steps=30, guidance_scale=5.0, audio="voices"),
    "ltx2": dict(model="Lightricks/LTX-2", height=512, width=768, model_fps=24.0, max_frames=121,
                 num_inference_steps=40, guidance_scale=4.0, audio="pipeline"),
}


def choose_device(requested: str = "auto") -> str:
    """CUDA when present (or asked for), else the CPU; the project never needs a GPU."""
    import torch

    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("diffusers generator: device=cuda was asked for but torch sees no CUDA device")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def choose_dtype(requested: str, device: str):
    """bfloat16 on GPUs that support it (float16 on older ones), float32 on the CPU."""
    import torch

    if requested != "auto":
        return getattr(torch, requested)
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def _build_component(folder: Path, library: str, class_name: str):
    """One component with random weights from its config folder (tokenizers load their files)."""
    import diffusers
    import transformers

    if library == "transformers":
        cls = getattr(transformers, class_name)
        if "Tokenizer" in class_name:
            return cls.from_pretrained(folder)
        return cls(transformers.AutoConfig.from_pretrained(folder)).eval()
    module = diffusers if library == "diffusers" else __import__(f"diffusers.pipelines.{library}", fromlist=[class_name])
    cls = getattr(module, class_name)
    return cls.from_config(cls.load_config(folder))


def tiny_pipeline_dir(name: str) -> Path:
    """The cached tiny pipeline folder, built from the shipped configs with seeded random weights."""
    import diffusers
    import torch

    if name not in TINY_PIPELINES:
        raise ValueError(f"unknown tiny pipeline {name!r} (known: {', '.join(TINY_PIPELINES)})")
    cache = mtavg_home() / "models" / f"{name}-{TINY_RECIPE_VERSION}-diffusers{diffusers.__version__}"
    if (cache / "model_index.json").exists():
        return cache
    source = CONFIGS_DIR / name
    index = diffusers.DiffusionPipeline.load_config(source)
    components: dict[str, Any] = {}
    with torch.random.fork_rng(devices=[]):
        for component in sorted(k for k, v in index.items() if isinstance(v, (list, tuple)) and not k.startswith("_")):
            library, class_name = index[component]
            if library is None:
                components[component] = None
                continue
            torch.manual_seed(0)  # each component seeded alone: the same weights on every machine
            components[component] = _build_component(source / component, library, class_name)
    pipe = getattr(diffusers, index["_class_name"])(**components)
    tmp = cache.with_name(f".tmp-{cache.name}-{uuid.uuid4().hex[:8]}")
    pipe.save_pretrained(tmp)
    cache.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(tmp, cache)  # atomic: a concurrent builder either wins or finds the folder there
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return cache


def model_label(config: DiffusersConfig) -> str:
    """The model part of the version: tiny recipe, hub id@revision, or local folder name + config hash."""
    if config.model in TINY_PIPELINES:
        return f"{config.model}-{TINY_RECIPE_VERSION}"
    path = Path(config.model).expanduser()
    if path.is_dir():
        index = path / "model_index.json"
        digest = sha256_file(str(index))[:8] if index.exists() else "noindex"
        return f"{path.name}-{digest}"
    return f"{config.model}@{config.revision or 'main'}"


def _quiet_loading() -> None:
    """No per-shard progress bars from diffusers/transformers in audit output (render progress is the flow's)."""
    import diffusers
    import transformers

    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()


def load_pipeline(config: DiffusersConfig):
    """from_pretrained by hub id or local path, on the chosen device and dtype (CPU offload on request)."""
    import diffusers

    _quiet_loading()
    device = choose_device(config.device)
    dtype = choose_dtype(config.dtype, device)
    source = tiny_pipeline_dir(config.model) if config.model in TINY_PIPELINES else config.model
    kwargs: dict[str, Any] = {"dtype": dtype}
    if config.revision:
        kwargs["revision"] = config.revision
    pipe = diffusers.DiffusionPipeline.from_pretrained(str(source), **kwargs)
    if config.cpu_offload and device == "cuda":
        pipe.enable_model_cpu_offload()
    else:
        pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe, device, dtype


def frames_for(seconds: float, config: DiffusersConfig, temporal_ratio: int) -> int:
    """Frames to ask for: enough for the shot at model_fps, on the VAE's grid (ratio*k + 1), capped."""
    wanted = max(1, math.ceil(seconds * config.model_fps))
    k = max(0, math.ceil((wanted - 1) / temporal_ratio))
    cap = max(0, (config.max_frames - 1) // temporal_ratio)
    return temporal_ratio * min(k, cap) + 1


def fit_frames(frames: np.ndarray, n_out: int, width: int, height: int):
    """Yield `n_out` uint8 frames spread over the shot (nearest source frame in time), scaled to the output."""
    import cv2

    n_in = len(frames)
    for i in range(n_out):
        src = frames[min(n_in - 1, int(i * n_in / max(1, n_out)))]
        img = np.clip(src * 255.0 + 0.5, 0, 255).astype(np.uint8) if src.dtype != np.uint8 else src
        yield cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)


def fit_audio(audio: np.ndarray, rate_in: int, rate_out: int, n_out: int) -> np.ndarray:
    """Mono float32 at `rate_out`, trimmed or zero-padded to exactly `n_out` samples."""
    from generators.audio.dsp import resample

    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    mono = resample(np.asarray(mono, dtype=np.float32), rate_in, rate_out) if rate_in != rate_out else mono
    out = np.zeros(n_out, dtype=np.float32)
    out[: min(n_out, len(mono))] = mono[:n_out]
    return out


def shot_seed(seed: int, scene: Scene, shot: int) -> int:
    return int(content_key(seed, scene.content_hash(), shot, length=15), 16)


class DiffusersGenerator:
    """A diffusers text-to-video (or text-to-audio-video) pipeline rendering a script shot by shot."""

    name = "diffusers"

    def __init__(self, config: DiffusersConfig, spec: ComponentSpec):
        self.config = config
        self.spec = spec
        self.version = f"{model_label(config)}+{config_hash(config)[:8]}"
        self._pipe = None
        self._device = "cpu"
        self._dtype = None
        self._voices = None

    @property
    def pipeline(self):
        if self._pipe is None:
            self._pipe, self._device, self._dtype = load_pipeline(self.config)
        return self._pipe

    def _uses_pipeline_audio(self) -> bool:
        if self.config.audio == "auto":
            return "vocoder" in self.pipeline.components
        return self.config.audio == "pipeline"

    def _speak(self, scene: Scene, seed: int) -> list[np.ndarray]:
        from generators.voices import build_voice_backend

        if self._voices is None:
            self._voices = build_voice_backend(self.config.voices)
        out = []
        for i, line in enumerate(scene.lines):
            speech = self._voices.synthesize(line.text, scene.character(line.speaker), emotion=line.emotion,
                                             delivery=line.delivery, seed=seed + i)
            out.append(np.asarray(speech.resampled(self.config.sample_rate).samples, dtype=np.float32))
        return out

    def _call_pipeline(self, prompt: str, negative: str, num_frames: int, seed: int):
        import torch

        pipe = self.pipeline
        params = inspect.signature(pipe.__call__).parameters
        kwargs: dict[str, Any] = dict(
            prompt=prompt, negative_prompt=negative, num_frames=num_frames, height=self.config.height,
            width=self.config.width, num_inference_steps=self.config.num_inference_steps,
            guidance_scale=self.config.guidance_scale, output_type="np",
            generator=torch.Generator(device="cpu" if self.config.cpu_offload else self._device).manual_seed(seed),
        )
        if "frame_rate" in params:
            kwargs["frame_rate"] = self.config.model_fps
        unknown = sorted(set(self.config.call_kwargs) - set(params))
        if unknown:
            raise ValueError(f"diffusers: call_kwargs {unknown} are not arguments of {type(pipe).__name__}.__call__")
        kwargs.update(self.config.call_kwargs)
        with torch.inference_mode():
            out = pipe(**kwargs)
        frames = np.asarray(out.frames[0] if isinstance(out.frames, (list, tuple)) else out.frames)
        frames = frames[0] if frames.ndim == 5 else frames
        audio = getattr(out, "audio", None)
        if audio is not None:
            audio = audio.float().cpu().numpy() if hasattr(audio, "cpu") else np.asarray(audio, dtype=np.float32)
            audio = audio[0] if audio.ndim == 3 else audio
        return frames.astype(np.float32), audio

    def render(self, scene: Scene, seed: int, workdir: Path) -> Rendered:
        from generators.audio.mix import mix_tracks
        from generators.mux import mux_clip

        cfg = self.config
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        pipe = self.pipeline
        joint_audio = self._uses_pipeline_audio()
        if joint_audio and "vocoder" not in pipe.components:  # fail before paying for any shot
            raise ValueError(f"diffusers: {type(pipe).__name__} returns no audio; use audio=voices (or auto)")
        speech = None if joint_audio else self._speak(scene, seed)
        timeline: Timeline = (
            plan_timeline(scene) if speech is None
            else layout_timeline(scene, [len(s) / cfg.sample_rate for s in speech])
        )
        ratio = int(getattr(pipe, "vae_scale_factor_temporal", None) or getattr(pipe, "vae_temporal_compression_ratio", 4))
        total_frames = max(1, round(timeline.duration_s * cfg.fps))
        total_samples = round(total_frames / cfg.fps * cfg.sample_rate)
        pipeline_audio = np.zeros(total_samples, dtype=np.float32)
        audio_rate = int(getattr(pipe, "audio_sampling_rate", 0) or 0)
        shot_frames: list[tuple[np.ndarray, int]] = []
        shots_extra = []
        prompts = shot_prompts(scene, cfg.negative_prompt)
        for s, (span, prompt) in enumerate(zip(timeline.shots, prompts)):
            first = round(span.start * cfg.fps)
            last = total_frames if s == len(timeline.shots) - 1 else round(span.end * cfg.fps)
            n_native = frames_for(span.duration, cfg, ratio)
            frames, audio = self._call_pipeline(prompt.prompt, prompt.negative_prompt, n_native, shot_seed(seed, scene, s))
            shot_frames.append((frames, max(0, last - first)))
            if joint_audio and audio is None:
                raise ValueError(f"diffusers: {type(pipe).__name__} returns no audio; use audio=voices (or auto)")
            if joint_audio:
                a0 = round(first / cfg.fps * cfg.sample_rate)
                n = max(0, min(total_samples, round(last / cfg.fps * cfg.sample_rate)) - a0)
                pipeline_audio[a0 : a0 + n] = fit_audio(audio, audio_rate or cfg.sample_rate, cfg.sample_rate, n)
            shots_extra.append({"prompt": prompt.prompt, "seed": shot_seed(seed, scene, s), "native_frames": len(frames)})

        stems_dir = workdir / "stems"
        if joint_audio:
            mix = mix_tracks({"pipeline": pipeline_audio}, cfg.sample_rate, None, stems_dir)
        else:
            tracks: dict[str, np.ndarray] = {}
            for i, (line, span) in enumerate(zip(scene.lines, timeline.lines)):
                track = tracks.setdefault(line.speaker, np.zeros(total_samples, dtype=np.float32))
                a0 = min(total_samples, round(span.start * cfg.sample_rate))
                piece = speech[i][: total_samples - a0]
                track[a0 : a0 + len(piece)] += piece
            mix = mix_tracks(tracks, cfg.sample_rate, None, stems_dir)

        def frames_iter():
            for frames, n_out in shot_frames:
                yield from fit_frames(frames, n_out, cfg.out_width, cfg.out_height)

        video = mux_clip(frames_iter(), cfg.fps, mix, cfg.sample_rate, workdir / "clip.mp4",
                         width=cfg.out_width, height=cfg.out_height)
        stems = {p.stem: f"stems/{p.name}" for p in sorted(stems_dir.glob("*.wav"))}
        manifest = Clip(
            clip_key=clip_key(self, scene, seed), generator=self.spec.label, generator_name=self.name,
            generator_version=self.version, config_hash=config_hash(cfg), scene=scene.id,
            scene_hash=scene.content_hash(), seed=seed, video=video.name, sha256=sha256_file(str(video)),
            fps=cfg.fps, width=cfg.out_width, height=cfg.out_height, duration_s=round(total_frames / cfg.fps, 3),
            sample_rate=cfg.sample_rate, timings="planned",
            lines=[LineTiming(index=i, speaker=line.speaker, start=sp.start, end=sp.end)
                   for i, (line, sp) in enumerate(zip(scene.lines, timeline.lines))],
            shots=[ShotTiming(index=i, start=sp.start, end=sp.end, size=sh.size.value, angle=sh.angle.value,
                              movement=sh.movement.value, subjects=list(sh.subjects))
                   for i, (sh, sp) in enumerate(zip(scene.shots, timeline.shots))],
            stems=stems,
            extra={"model": cfg.model, "revision": cfg.revision, "pipeline": type(pipe).__name__,
                   "device": self._device, "dtype": str(self._dtype).removeprefix("torch."),
                   "audio": "pipeline" if joint_audio else f"voices:{cfg.voices}", "shots": shots_extra},
        )
        (workdir / "manifest.json").write_text(manifest.model_dump_json(indent=1))
        files = {"manifest": workdir / "manifest.json", **{k: workdir / v for k, v in stems.items()}}
        return Rendered(video_path=video, manifest=manifest, files=files)


@registry.register("diffusers", DiffusersConfig, presets=PRESETS)
def build_diffusers(config: DiffusersConfig, spec: ComponentSpec, **_context: Any) -> DiffusersGenerator:
    """Text-to-video pipelines through diffusers (Wan, LTX-2, tiny random ones offline)."""
    return DiffusersGenerator(config, spec)
