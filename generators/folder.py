"""The folder generator: imports clips rendered elsewhere (a vendor delivery, a benchmark release).

    folder?path=/data/delivery-0412                       manifest.csv or manifest.json in the folder
    folder?path=/data/delivery&manifest=map.csv&vendor=acme&model=av-2
    folder@deliveries.yaml                                {path: ..., manifest: ..., strict: false}
                                                          (a relative path is relative to the YAML file)

The manifest maps scene ids to files (paths relative to the folder):

    scene,file,seed                      CSV; optional columns vendor, model (one value for all rows)
    kitchen-quarrel,clips/kq.mp4,0

    {"vendor": "acme", "model": "av-2", "clips": [{"scene": "kitchen-quarrel", "file": "kq.mp4", "seed": 0}]}
    {"vendor": "acme", "model": "av-2", "clips": {"kitchen-quarrel": "kq.mp4"}}

Every file must decode and carry an audio stream (checked with `generators.mux.probe_clip`); with
`strict` (default) one bad file stops the build with an error naming it, otherwise bad files become
failed clips. The version is the delivery's vendor/model plus a hash of the manifest and of each
file's size and first and last MiB, so a changed delivery is a new version without reading
gigabytes. Timings are the script's planned timeline stretched to the clip's length (`planned`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from generators.base import Clip, ClipStatus, LineTiming, Rendered, ShotTiming, clip_key, config_hash, registry
from scenes import Scene, plan_timeline
from storage import ComponentSpec, sha256_file

MANIFEST_NAMES = ("manifest.csv", "manifest.json")
QUICK_HASH_BYTES = 1 << 20


class FolderDeliveryError(ValueError):
    """The delivery folder or its manifest is unusable; the message names the file and field."""


class FolderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # where the delivery lies is not what it is: path, manifest and strict stay out of the identity (the
    # version hashes the content), so a moved folder keeps its clip keys
    path: str = Field(..., exclude=True, description="folder holding the clips and the manifest")
    manifest: str | None = Field(None, exclude=True, description="manifest file (CSV or JSON), relative to path")
    vendor: str | None = Field(None, description="overrides the manifest's vendor")
    model: str | None = Field(None, description="overrides the manifest's model name")
    strict: bool = Field(True, exclude=True, description="a file that does not decode or has no audio stops the build")


@dataclass(frozen=True)
class Delivered:
    scene: str
    file: Path
    seed: int | None
    problem: str | None = None


def _manifest_path(folder: Path, name: str | None) -> Path:
    if name:
        path = folder / name
        if not path.is_file():
            raise FolderDeliveryError(f"{path}: manifest file does not exist")
        return path
    for candidate in MANIFEST_NAMES:
        if (folder / candidate).is_file():
            return folder / candidate
    raise FolderDeliveryError(f"{folder}: no manifest (expected one of {', '.join(MANIFEST_NAMES)}, or set manifest=)")


def _seed(value: Any, where: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise FolderDeliveryError(f"{where}: seed {value!r} is not an integer") from None


def read_manifest(path: Path) -> tuple[dict[str, str], list[tuple[str, str, int | None]]]:
    """(header: vendor/model, rows: (scene, file, seed)) from a CSV or JSON manifest."""
    header: dict[str, str] = {}
    rows: list[tuple[str, str, int | None]] = []
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"scene", "file"} - set(reader.fieldnames or [])
            if missing:
                raise FolderDeliveryError(f"{path}: missing column(s) {', '.join(sorted(missing))} (have {reader.fieldnames})")
            for n, row in enumerate(reader, start=2):
                where = f"{path}:{n}"
                if not (row.get("scene") or "").strip() or not (row.get("file") or "").strip():
                    raise FolderDeliveryError(f"{where}: empty scene or file")
                for key in ("vendor", "model"):
                    value = (row.get(key) or "").strip()
                    if value and header.setdefault(key, value) != value:
                        raise FolderDeliveryError(f"{where}: {key} {value!r} differs from {header[key]!r} of earlier rows")
                rows.append((row["scene"].strip(), row["file"].strip(), _seed(row.get("seed"), where)))
    elif path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise FolderDeliveryError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict) or "clips" not in data:
            raise FolderDeliveryError(f"{path}: expected an object with a 'clips' field")
        header = {k: str(data[k]) for k in ("vendor", "model") if data.get(k)}
        clips = data["clips"]
        if isinstance(clips, dict):
            rows = [(str(scene), str(file), None) for scene, file in clips.items()]
        elif isinstance(clips, list):
            for n, entry in enumerate(clips):
                where = f"{path}: clips[{n}]"
                if not isinstance(entry, dict) or not entry.get("scene") or not entry.get("file"):
                    raise FolderDeliveryError(f"{where}: needs 'scene' and 'file'")
                rows.append((str(entry["scene"]), str(entry["file"]), _seed(entry.get("seed"), where)))
        else:
            raise FolderDeliveryError(f"{path}: 'clips' must be a list or a mapping of scene id to file")
    else:
        raise FolderDeliveryError(f"{path}: manifest must be .csv or .json")
    if not rows:
        raise FolderDeliveryError(f"{path}: lists no clips")
    return header, rows


def quick_hash(path: Path) -> str:
    """sha256 of (size, first MiB, last MiB): cheap, and changes when a delivered file is replaced."""
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(str(size).encode())
    with path.open("rb") as fh:
        h.update(fh.read(QUICK_HASH_BYTES))
        if size > QUICK_HASH_BYTES:
            fh.seek(max(QUICK_HASH_BYTES, size - QUICK_HASH_BYTES))
            h.update(fh.read())
    return h.hexdigest()


class FolderGenerator:
    """Clips from a folder, found by scene id (and seed when the delivery has several per scene)."""

    name = "folder"

    def __init__(self, config: FolderConfig, spec: ComponentSpec):
        from generators.mux import ClipProbeError, probe_clip

        self.config = config
        self.spec = spec
        folder = Path(config.path).expanduser()
        if not folder.is_absolute() and spec.config_path:  # relative to the YAML that names it
            folder = Path(spec.config_path).expanduser().resolve().parent / folder
        self.folder = folder.resolve()
        if not self.folder.is_dir():
            raise FolderDeliveryError(f"{self.folder}: delivery folder does not exist")
        manifest = _manifest_path(self.folder, config.manifest)
        header, rows = read_manifest(manifest)
        self.vendor = config.vendor or header.get("vendor") or "unknown-vendor"
        self.model = config.model or header.get("model") or self.folder.name
        self.clips: dict[str, list[Delivered]] = {}
        problems = []
        digest = hashlib.sha256(manifest.read_bytes())
        for scene, file, seed in rows:
            path = (self.folder / file).resolve()
            if not path.is_relative_to(self.folder):
                raise FolderDeliveryError(f"{manifest}: file {file!r} for scene {scene!r} lies outside {self.folder}")
            problem = None
            try:
                probe_clip(path)
                digest.update(f"{scene}\0{file}\0{quick_hash(path)}".encode())
            except ClipProbeError as exc:
                problem = str(exc)
                problems.append(f"scene {scene!r}: {exc}")
            self.clips.setdefault(scene, []).append(Delivered(scene, path, seed, problem))
        if problems and config.strict:
            raise FolderDeliveryError(f"{manifest}: {len(problems)} unusable clip(s): " + "; ".join(problems))
        self.content_hash = digest.hexdigest()[:8]
        self.version = f"{self.vendor}/{self.model}+{self.content_hash}"

    def _pick(self, scene: Scene, seed: int) -> Delivered | None:
        options = self.clips.get(scene.id, [])
        exact = [d for d in options if d.seed == seed]
        if exact:
            return exact[0]
        unseeded = [d for d in options if d.seed is None]
        if unseeded:
            return unseeded[0]
        return options[0] if len(options) == 1 else None

    def render(self, scene: Scene, seed: int, workdir: Path) -> Rendered:
        from generators.mux import probe_clip

        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        base = dict(clip_key=clip_key(self, scene, seed), generator=self.spec.label, generator_name=self.name,
                    generator_version=self.version, config_hash=config_hash(self.config), scene=scene.id,
                    scene_hash=scene.content_hash(), seed=seed, timings="planned",
                    extra={"vendor": self.vendor, "model": self.model})
        chosen = self._pick(scene, seed)
        if chosen is None or chosen.problem:
            have = sorted(d.seed for d in self.clips.get(scene.id, []) if d.seed is not None)
            reason = chosen.problem if chosen else (
                f"no clip delivered for scene {scene.id!r}" + (f" with seed {seed} (seeds: {have})" if have else ""))
            manifest = Clip(**base, status=ClipStatus.failed, failure=reason, video=None)
            return self._finish(workdir, None, manifest)
        video = workdir / "clip.mp4"
        shutil.copyfile(chosen.file, video)
        info = probe_clip(video)
        lines, shots, scale = stretched_timings(scene, float(info["duration_s"]))
        base["extra"].update(source=str(chosen.file.relative_to(self.folder)), delivered_seed=chosen.seed,
                             timing_scale=round(scale, 4))
        manifest = Clip(**base, video=video.name, sha256=sha256_file(str(video)), fps=float(info["fps"]),
                        width=int(info["width"]), height=int(info["height"]), duration_s=float(info["duration_s"]),
                        sample_rate=int(info["sample_rate"]), lines=lines, shots=shots)
        return self._finish(workdir, video, manifest)

    @staticmethod
    def _finish(workdir: Path, video: Path | None, manifest: Clip) -> Rendered:
        (workdir / "manifest.json").write_text(manifest.model_dump_json(indent=1))
        return Rendered(video_path=video, manifest=manifest, files={"manifest": workdir / "manifest.json"})


def stretched_timings(scene: Scene, duration_s: float) -> tuple[list[LineTiming], list[ShotTiming], float]:
    """The planned timeline scaled to the delivered clip's length (a first guess for temporal items)."""
    timeline = plan_timeline(scene)
    scale = duration_s / timeline.duration_s if timeline.duration_s > 0 else 1.0
    lines = [LineTiming(index=i, speaker=line.speaker, start=round(sp.start * scale, 3), end=round(sp.end * scale, 3))
             for i, (line, sp) in enumerate(zip(scene.lines, timeline.lines))]
    shots = [ShotTiming(index=i, start=round(sp.start * scale, 3), end=round(sp.end * scale, 3), size=sh.size.value,
                        angle=sh.angle.value, movement=sh.movement.value, subjects=list(sh.subjects))
             for i, (sh, sp) in enumerate(zip(scene.shots, timeline.shots))]
    return lines, shots, scale


@registry.register("folder", FolderConfig)
def build_folder(config: FolderConfig, spec: ComponentSpec, **_context: Any) -> FolderGenerator:
    """Clips rendered elsewhere, mapped to scene ids by a CSV or JSON manifest."""
    return FolderGenerator(config, spec)
