"""Component specs and registries shared by generators and judges.

A spec names a component the same way everywhere (CLI, flow parameters, store keys):

    NAME[:PRESET][@CONFIG.yaml][?key=value&key=value]

e.g. `procedural`, `procedural:flawed`, `gemini:flash?modality=no_audio`, `openai@judge.yaml`.
The registry rebuilds a component from a spec: the preset's settings, then the config file's,
then the query's, validated by the component's pydantic config model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar
from urllib.parse import parse_qsl

import yaml
from pydantic import BaseModel, ValidationError

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")
T = TypeVar("T")


class SpecError(ValueError):
    pass


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    preset: str | None = None
    config_path: str | None = None
    overrides: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> "ComponentSpec":
        if isinstance(text, ComponentSpec):
            return text
        raw = str(text).strip()
        head, _, query = raw.partition("?")
        head, _, config = head.partition("@")
        name, _, preset = head.partition(":")
        if not NAME.match(name):
            raise SpecError(f"spec {raw!r}: {name!r} is not a component name")
        if preset and not NAME.match(preset):
            raise SpecError(f"spec {raw!r}: {preset!r} is not a preset name")
        overrides = tuple(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))) if query else ()
        return cls(name, preset or None, config or None, overrides)

    def __str__(self) -> str:
        out = self.name + (f":{self.preset}" if self.preset else "") + (f"@{self.config_path}" if self.config_path else "")
        if self.overrides:
            out += "?" + "&".join(f"{k}={v}" for k, v in self.overrides)
        return out

    @property
    def label(self) -> str:
        """Short display name: name plus preset."""
        return self.name + (f":{self.preset}" if self.preset else "")


@dataclass
class Entry(Generic[T]):
    name: str
    factory: Callable[..., T]
    config_model: type[BaseModel]
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    summary: str = ""


class Registry(Generic[T]):
    """name → (factory, config model, presets); `build(spec)` returns a configured component."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}
        self._loaders: dict[str, Callable[[], None]] = {}

    def register(
        self,
        name: str,
        config_model: type[BaseModel],
        presets: dict[str, dict[str, Any]] | None = None,
        summary: str = "",
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            self._entries[name] = Entry(name, factory, config_model, presets or {}, summary or (factory.__doc__ or "").strip().split("\n")[0])
            return factory

        return deco

    def lazy(self, name: str, loader: Callable[[], None]) -> None:
        """Register a module that registers `name` when first asked for (keeps heavy imports lazy)."""
        self._loaders[name] = loader

    def lazy_modules(self, modules: dict[str, str]) -> None:
        """Register each name to the module that registers it, imported on first use."""
        import importlib

        for name, module in modules.items():
            self.lazy(name, lambda m=module: importlib.import_module(m))

    def entry(self, name: str) -> Entry[T]:
        if name not in self._entries and name in self._loaders:
            self._loaders[name]()
        try:
            return self._entries[name]
        except KeyError:
            raise SpecError(f"unknown {self.kind} {name!r} (known: {', '.join(self.names())})") from None

    def names(self) -> list[str]:
        return sorted(set(self._entries) | set(self._loaders))

    def config_for(self, spec: ComponentSpec | str) -> BaseModel:
        spec = ComponentSpec.parse(spec) if isinstance(spec, str) else spec
        entry = self.entry(spec.name)
        settings: dict[str, Any] = {}
        if spec.preset:
            if spec.preset not in entry.presets:
                known = ", ".join(sorted(entry.presets)) or "none"
                raise SpecError(f"{self.kind} {spec.name!r} has no preset {spec.preset!r} (known: {known})")
            settings.update(entry.presets[spec.preset])
        if spec.config_path:
            path = Path(spec.config_path)
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except FileNotFoundError:
                raise SpecError(f"{self.kind} config file {path} does not exist") from None
            except yaml.YAMLError as exc:
                raise SpecError(f"{path}: not valid YAML: {exc}") from None
            if not isinstance(data, dict):
                raise SpecError(f"{path}: expected a mapping of settings")
            settings.update(data)
        settings.update(dict(spec.overrides))
        try:
            return entry.config_model.model_validate(settings)
        except ValidationError as exc:
            where = spec.config_path or str(spec)
            details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise SpecError(f"{self.kind} {spec}: bad settings in {where}: {details}") from None

    def build(self, spec: ComponentSpec | str, **context: Any) -> T:
        spec = ComponentSpec.parse(spec) if isinstance(spec, str) else spec
        config = self.config_for(spec)
        return self._entries[spec.name].factory(config, spec=spec, **context)
