"""The audit's units of work as plain functions: render one clip, diagnose one clip, pair or chain.

No Prefect here: these run inside worker processes (so CPU-bound probes use every core), inside
Prefect tasks, and in the plain-function baseline that `benchmarks/audit.py` times against the
flows. Arguments and results are small and picklable: specs, ids and store keys, never media.
Components are built once per process and reused (`functools.lru_cache`).
"""

from __future__ import annotations

import os
import tempfile
import time
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from diagnosers.base import Judge, build_judge
from diagnosers.runner import judge_identity, run_clip
from generators.base import Clip, ClipStatus, Generator, build_generator, clip_key
from scenes import Drama, Scene, Suite, load_suite
from storage import Store, clip_prefix
from taxonomy.items import Format, Level, QAItem

MANIFEST = "manifest.json"


class ClipRef(BaseModel):
    """Where a rendered clip lives in the store, and what it is (small enough for task results)."""

    generator: str = Field(description="generator spec label")
    generator_version: str
    scene: str
    seed: int
    clip_key: str
    prefix: str
    status: ClipStatus = ClipStatus.ok
    sha256: str | None = None
    duration_s: float = 0.0
    rendered: bool = Field(False, description="rendered now (False: found in the store)")
    elapsed_s: float = 0.0

    @property
    def manifest_key(self) -> str:
        return f"{self.prefix}/{MANIFEST}"

    @property
    def video_key(self) -> str:
        return f"{self.prefix}/clip.mp4"


class DiagnosisRef(BaseModel):
    """What one diagnosis did: the batch it wrote, counts, and the judge identity readers need."""

    judge: str
    judge_identity: dict[str, Any]
    unit: str = Field(description="scene id, `pair:<scene>` or `drama:<id>`")
    media_sha256: str
    batch_key: str
    items: int
    asked: int
    cached: int
    counts: dict[str, int]
    elapsed_s: float


# ---------------------------------------------------------------- components, once per process


@lru_cache(maxsize=8)
def suite_for(ref: str) -> Suite:
    return load_suite(ref)


@lru_cache(maxsize=16)
def generator_for(spec: str, store_url: str | None = None) -> Generator:
    """The generator of a spec; API generators keep their request journal in the run's store."""
    return build_generator(spec, **({"store": store_for(store_url)} if store_url else {}))


@lru_cache(maxsize=16)
def judge_for(spec: str, store_url: str | None = None) -> Judge:
    """The judge of a spec, wired to the run's store, its Prefect Secret key and global concurrency limit."""
    from diagnosers.base import registry as judges

    config = judges.config_for(spec)
    context: dict[str, Any] = {"store": store_for(store_url)} if store_url else {}
    secret = getattr(config, "api_key_secret", None)
    if secret:
        context["api_key"] = _secret_value(secret)
    judge = build_judge(spec, **context)
    limit = getattr(config, "global_limit", None)
    if limit and hasattr(judge, "slot"):
        judge.slot = _global_slot(limit)
    return judge


def _secret_value(block_name: str) -> str:
    """Read an API key from a Prefect Secret block (never logged, never a parameter)."""
    from prefect.blocks.system import Secret

    try:
        return Secret.load(block_name).get()
    except ValueError as exc:
        raise ValueError(f"no Prefect Secret block named {block_name!r}: create it with "
                         f"`prefect block create secret` or set the key's environment variable") from exc


def _global_slot(limit_name: str):
    """A slot factory: each API call occupies one slot of a Prefect global concurrency limit."""
    from prefect.concurrency.sync import concurrency

    return lambda: concurrency(limit_name, occupy=1, strict=False)


@lru_cache(maxsize=4)
def store_for(url: str) -> Store:
    return Store(url)


@lru_cache(maxsize=256)
def scene_items_for(suite_ref: str, scene_id: str) -> tuple[QAItem, ...]:
    from taxonomy.qa import scene_items

    return tuple(scene_items(suite_for(suite_ref).scene(scene_id)))


@lru_cache(maxsize=64)
def drama_items_for(suite_ref: str, drama_id: str) -> tuple[QAItem, ...]:
    from taxonomy.qa import drama_items

    suite = suite_for(suite_ref)
    drama = suite.drama(drama_id)
    return tuple(drama_items(drama, [suite.scene(s) for s in drama.scenes]))


def single_clip_items(items: tuple[QAItem, ...]) -> list[QAItem]:
    """Items one clip (or one chain) answers alone: all but pairwise."""
    return [i for i in items if i.format is not Format.pairwise]


def pairwise_items(items: tuple[QAItem, ...]) -> list[QAItem]:
    return [i for i in items if i.format is Format.pairwise]


# ---------------------------------------------------------------- render


def clip_ref_for(generator: Generator, scene: Scene, seed: int) -> tuple[str, str]:
    key = clip_key(generator, scene, seed)
    return key, clip_prefix(generator.spec.label, key)


def load_clip_ref(store: Store, prefix: str, *, rendered: bool = False, elapsed_s: float = 0.0) -> ClipRef:
    manifest = Clip.model_validate(store.get_json(f"{prefix}/{MANIFEST}"))
    return ClipRef(
        generator=manifest.generator, generator_version=manifest.generator_version, scene=manifest.scene,
        seed=manifest.seed, clip_key=manifest.clip_key, prefix=prefix, status=manifest.status,
        sha256=manifest.sha256, duration_s=manifest.duration_s, rendered=rendered, elapsed_s=elapsed_s,
    )


def render_clip(generator_spec: str, suite_ref: str, scene_id: str, seed: int, store_url: str, force: bool = False) -> ClipRef:
    """Render one scene with one generator into the store, unless its clip key is already there.

    The manifest is written last, so a manifest in the store means the clip and its files are complete.
    """
    started = time.perf_counter()
    store = store_for(store_url)
    generator = generator_for(generator_spec, store_url)
    scene = suite_for(suite_ref).scene(scene_id)
    key, prefix = clip_ref_for(generator, scene, seed)
    if not force and store.exists(f"{prefix}/{MANIFEST}"):
        return load_clip_ref(store, prefix, elapsed_s=time.perf_counter() - started)
    with tempfile.TemporaryDirectory(prefix="mtavg-render-") as tmp:
        rendered = generator.render(scene, seed, Path(tmp))
        manifest = rendered.manifest
        updates: dict[str, Any] = {"clip_key": key, "generator": generator.spec.label}
        if rendered.video_path is not None and manifest.status is ClipStatus.ok:
            from storage import sha256_file

            store.put_file(f"{prefix}/clip.mp4", rendered.video_path)
            updates["sha256"] = manifest.sha256 or sha256_file(str(rendered.video_path))
            updates["video"] = "clip.mp4"
        for name, path in sorted(rendered.files.items()):
            if Path(path).is_file() and Path(path) != rendered.video_path:
                store.put_file(f"{prefix}/{_file_key(name, Path(path), Path(tmp))}", path)
        manifest = manifest.model_copy(update=updates)
        store.put_json(f"{prefix}/{MANIFEST}", manifest.model_dump(mode="json"))
    return load_clip_ref(store, prefix, rendered=True, elapsed_s=time.perf_counter() - started)


def _file_key(name: str, path: Path, workdir: Path) -> str:
    """A clip's extra file (stems...) keeps its path relative to the workdir, else its name."""
    try:
        rel = path.resolve().relative_to(workdir.resolve()).as_posix()
    except ValueError:
        rel = path.name
    from storage import safe_segment

    return "/".join(safe_segment(p) for p in rel.split("/"))


# ---------------------------------------------------------------- diagnose


def _local_video(store: Store, ref: ClipRef, keep: list[Any]) -> Path:
    """A real path to the clip's video (downloaded to a temporary file for remote stores)."""
    if store.is_local:
        return store.local_path(ref.video_key)
    tmp = tempfile.NamedTemporaryFile(prefix="mtavg-clip-", suffix=".mp4")
    tmp.write(store.get_bytes(ref.video_key))
    tmp.flush()
    keep.append(tmp)
    return Path(tmp.name)


def _open(store: Store, ref: ClipRef, scene: Scene, judge: Judge, keep: list[Any]):
    from diagnosers.media import ClipMedia

    options = dict(getattr(judge, "media_options", None) or {})
    return ClipMedia(_local_video(store, ref, keep), scene, sha256=ref.sha256, **options)


def _diagnosis(judge_spec: str, judge: Judge, unit: str, media: Any, items: list[QAItem], store: Store, force: bool) -> DiagnosisRef:
    result = run_clip(judge, media, items, store, force=force)
    if getattr(judge, "exhausted", None):  # quota gone: say so once, loudly; its verdicts are `error`, retried next run
        logging.getLogger("mtavg").error("judge %s stopped calling its API: %s", judge_spec, judge.exhausted)
    sha = media.sha256
    return DiagnosisRef(
        judge=judge_spec, judge_identity=judge_identity(judge), unit=unit, media_sha256=sha,
        batch_key=result.batch_key, items=len(items), asked=result.asked, cached=result.cached,
        counts=result.counts, elapsed_s=result.elapsed_s,
    )


def diagnose_clip_ref(judge_spec: str, suite_ref: str, clip: ClipRef, store_url: str, force: bool = False) -> DiagnosisRef:
    """Answer every single-clip item of the clip's scene through the verdict cache; decode once."""
    store, judge = store_for(store_url), judge_for(judge_spec, store_url)
    scene = suite_for(suite_ref).scene(clip.scene)
    items = single_clip_items(scene_items_for(suite_ref, clip.scene))
    keep: list[Any] = []
    media = _open(store, clip, scene, judge, keep)
    try:
        return _diagnosis(judge_spec, judge, clip.scene, media, items, store, force)
    finally:
        getattr(media, "release", lambda: None)()


def diagnose_pair_ref(judge_spec: str, suite_ref: str, a: ClipRef, b: ClipRef, store_url: str, force: bool = False) -> DiagnosisRef:
    """Answer the scene's pairwise items for two clips of it (A = `a`, B = `b`)."""
    from diagnosers.media import MediaPair

    if a.scene != b.scene:
        raise ValueError(f"a pair must show one scene, got {a.scene!r} and {b.scene!r}")
    store, judge = store_for(store_url), judge_for(judge_spec, store_url)
    scene = suite_for(suite_ref).scene(a.scene)
    items = pairwise_items(scene_items_for(suite_ref, a.scene))
    keep: list[Any] = []
    media = MediaPair(_open(store, a, scene, judge, keep), _open(store, b, scene, judge, keep))
    return _diagnosis(judge_spec, judge, f"pair:{a.scene}", media, items, store, force)


def diagnose_chain_ref(judge_spec: str, suite_ref: str, drama_id: str, clips: list[ClipRef], store_url: str, force: bool = False) -> DiagnosisRef:
    """Answer a drama's single-chain items over its clips in story order."""
    from diagnosers.media import MediaChain

    store, judge = store_for(store_url), judge_for(judge_spec, store_url)
    suite = suite_for(suite_ref)
    drama: Drama = suite.drama(drama_id)
    by_scene = {c.scene: c for c in clips}
    missing = [s for s in drama.scenes if s not in by_scene]
    if missing:
        raise ValueError(f"drama {drama_id!r}: no clip for scenes {missing}")
    keep: list[Any] = []
    chain = MediaChain(scenes=[_open(store, by_scene[s], suite.scene(s), judge, keep) for s in drama.scenes], drama=drama)
    items = single_clip_items(drama_items_for(suite_ref, drama_id))
    return _diagnosis(judge_spec, judge, f"drama:{drama_id}", chain, items, store, force)


def items_for_unit(suite_ref: str, unit: str) -> list[QAItem]:
    """The items a `DiagnosisRef.unit` was asked (what readers pair the stored verdicts with)."""
    if unit.startswith("drama:"):
        return single_clip_items(drama_items_for(suite_ref, unit[len("drama:"):]))
    if unit.startswith("pair:"):
        return pairwise_items(scene_items_for(suite_ref, unit[len("pair:"):]))
    return single_clip_items(scene_items_for(suite_ref, unit))


def load_plugins() -> None:
    """Import the modules named in $MTAVG_PLUGINS (comma-separated): they register extra generators or judges."""
    import importlib

    for name in filter(None, (p.strip() for p in os.environ.get("MTAVG_PLUGINS", "").split(","))):
        importlib.import_module(name)


def worker_init() -> None:
    """Worker processes: one thread per math library, so N workers use N cores without oversubscribing."""
    import sys

    load_plugins()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if "torch" in sys.modules:  # imported by a plugin already; otherwise the env vars above apply when it loads
        sys.modules["torch"].set_num_threads(1)
    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(1)


def is_scene_level(item: QAItem) -> bool:
    return item.level is Level.scene
