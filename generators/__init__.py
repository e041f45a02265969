"""Generators: the protocol and registry, adapters, and media muxing. Knows scenes and taxonomy."""

from generators.base import (
    Clip,
    ClipStatus,
    Generator,
    InjectedFault,
    LineTiming,
    Rendered,
    ShotTiming,
    build_generator,
    clip_key,
    config_hash,
    registry,
)

# name -> module that registers it; imported on first use so heavy deps (torch, diffusers) stay lazy
registry.lazy_modules({
    "procedural": "generators.procedural",
    "diffusers": "generators.diffusers_gen",
    "veo": "generators.api.veo",
    "sora": "generators.api.sora",
    "folder": "generators.folder",
})

__all__ = [
    "Clip", "ClipStatus", "Generator", "InjectedFault", "LineTiming", "Rendered", "ShotTiming",
    "build_generator", "clip_key", "config_hash", "registry",
]
