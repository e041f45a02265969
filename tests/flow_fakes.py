"""A tiny real generator for flow tests: PyAV-encoded clips (picture + tone), seeded, with one switchable fault.

Registered as `tinygen` in the generator registry when imported (tests and worker processes alike).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from generators.base import Clip, InjectedFault, LineTiming, Rendered, clip_key, config_hash, registry
from scenes import Scene
from storage import ComponentSpec, content_key


class TinyConfig(BaseModel):
    fault_rate: float = Field(0.0, ge=0, le=1)
    seconds_per_line: float = 0.6
    size: int = 64
    delay_s: float = Field(0.0, ge=0, le=10, description="sleep per render, so tests can interrupt an audit midway")
    fail_scene: str | None = Field(None, description="raise when asked to render this scene (a crashing generator)")


class TinyGenerator:
    name = "tinygen"
    version = "1"

    def __init__(self, config: TinyConfig, spec: ComponentSpec):
        self.config, self.spec = config, spec

    def render(self, scene: Scene, seed: int, workdir: Path) -> Rendered:
        import time

        import av

        time.sleep(self.config.delay_s)
        if scene.id == self.config.fail_scene:
            raise RuntimeError(f"tinygen crashed on {scene.id}")
        rng = np.random.default_rng(int(content_key(seed, scene.content_hash(), self.config.model_dump(), length=8), 16))
        frozen = bool(rng.random() < self.config.fault_rate)
        fps, sr, n = 10, 16000, len(scene.lines)
        duration = max(1.0, n * self.config.seconds_per_line)
        frames = int(duration * fps)
        path = workdir / "clip.mp4"
        with av.open(str(path), "w") as out:
            v = out.add_stream("libx264", rate=fps)
            v.width = v.height = self.config.size
            v.pix_fmt = "yuv420p"
            a = out.add_stream("aac", rate=sr)
            for i in range(frames):
                k = 0 if frozen else i
                img = np.full((self.config.size, self.config.size, 3), (k * 9) % 255, np.uint8)
                img[:, : self.config.size // 2, 1] = 120
                for pkt in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    out.mux(pkt)
            t = np.arange(int(duration * sr)) / sr
            tone = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
            for start in range(0, len(tone), 1024):
                chunk = tone[start:start + 1024]
                frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
                frame.sample_rate = sr
                frame.pts = start
                frame.time_base = Fraction(1, sr)
                for pkt in a.encode(frame):
                    out.mux(pkt)
            for stream in (v, a):
                for pkt in stream.encode():
                    out.mux(pkt)
        step = duration / n
        faults = [InjectedFault(fault="frozen", modes=["sf.frozen_video"], start=0.0, end=duration)] if frozen else []
        manifest = Clip(
            clip_key=clip_key(self, scene, seed), generator=self.spec.label, generator_name=self.name,
            generator_version=self.version, config_hash=config_hash(self.config), scene=scene.id,
            scene_hash=scene.content_hash(), seed=seed, fps=fps, width=self.config.size, height=self.config.size,
            duration_s=duration, sample_rate=sr, faults=faults, controlled_modes=["sf.frozen_video"],
            lines=[LineTiming(index=i, speaker=ln.speaker, start=i * step, end=(i + 1) * step) for i, ln in enumerate(scene.lines)],
        )
        return Rendered(path, manifest)


@registry.register("tinygen", TinyConfig, presets={"clean": {}, "flawed": {"fault_rate": 0.7}})
def build_tiny(config: TinyConfig, spec: ComponentSpec, **_: Any) -> TinyGenerator:
    """Tiny PyAV test generator."""
    return TinyGenerator(config, spec)
