"""The Generator protocol, the clip manifest (`Clip`) and the generator registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from scenes import Scene
from storage import ComponentSpec, Registry, content_key


class ClipStatus(str, Enum):
    ok = "ok"
    failed = "failed"  # the generator refused or failed (policy block, API error): reported, not a crash


class LineTiming(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int
    speaker: str = Field(description="the character whose voice and mouth carry the line")
    start: float
    end: float


class ShotTiming(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int
    start: float
    end: float
    size: str
    angle: str
    movement: str
    subjects: list[str]
    positions: dict[str, float] = Field(default_factory=dict, description="screen x (0..1) of each subject")


class InjectedFault(BaseModel):
    model_config = ConfigDict(frozen=True)

    fault: str
    modes: list[str]
    start: float
    end: float
    severity: float = Field(1.0, ge=0.0, le=1.0)
    params: dict[str, Any] = Field(default_factory=dict)
    line: int | None = None
    shot: int | None = None


class Clip(BaseModel):
    """The manifest beside each clip: what was rendered, how, and (for fault injectors) ground truth."""

    clip_key: str
    generator: str = Field(description="generator spec label, e.g. procedural:flawed")
    generator_name: str
    generator_version: str
    config_hash: str
    scene: str
    scene_hash: str
    seed: int
    status: ClipStatus = ClipStatus.ok
    failure: str | None = None
    video: str | None = Field("clip.mp4", description="file name of the clip inside its folder")
    sha256: str | None = None
    fps: float = 25.0
    width: int = 640
    height: int = 360
    duration_s: float = 0.0
    sample_rate: int = 48000
    timings: str = Field("measured", description="'measured' (the renderer placed them) or 'planned' (intended only)")
    lines: list[LineTiming] = Field(default_factory=list)
    shots: list[ShotTiming] = Field(default_factory=list)
    faults: list[InjectedFault] = Field(default_factory=list)
    controlled_modes: list[str] = Field(default_factory=list, description="modes whose presence this generator knows")
    stems: dict[str, str] = Field(default_factory=dict, description="per-track audio files inside the clip folder")
    cost_usd: float = 0.0
    extra: dict[str, Any] = Field(default_factory=dict)


@dataclass
class Rendered:
    """What `render` returns: the muxed clip and its manifest (paths inside the workdir)."""

    video_path: Path | None
    manifest: Clip
    files: dict[str, Path] = field(default_factory=dict)


@runtime_checkable
class Generator(Protocol):
    name: str
    version: str
    config: BaseModel
    spec: ComponentSpec

    def render(self, scene: Scene, seed: int, workdir: Path) -> Rendered: ...


def config_hash(config: BaseModel) -> str:
    return content_key(config.model_dump(mode="json"), length=12)


def clip_key(generator: Generator, scene: Scene, seed: int) -> str:
    """Content key of a clip: generator identity, config, scene content and seed."""
    return content_key(generator.name, generator.version, generator.config.model_dump(mode="json"), scene.content_hash(), seed)


registry: Registry[Generator] = Registry("generator")


def build_generator(spec: str | ComponentSpec, **context: Any) -> Generator:
    return registry.build(spec, **context)
