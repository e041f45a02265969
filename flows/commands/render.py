"""`mtavg render`: render scenes with a generator into the store (or a folder), with a progress bar.

    mtavg render --generator procedural:flawed --suite mini --json
    mtavg render --generator procedural --scene kitchen-quarrel --seed 3 --out clips/

Clips go to `clips/<generator label>/<clip key>/` in the store (clip.mp4, manifest.json, stems/), so
a clip whose key exists is reused, not rendered again (`--force` renders anyway). With `--out` they
go to `<out>/<generator label>/<scene>-seed<N>/` instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from flows.commands.common import err_console, fail, print_json
from scenes import Scene, SceneFileError, bundled_suites, find_scene, load_suite
from storage import SpecError, Store, clip_prefix, safe_segment


def render_clip(generator: Any, scene: Scene, seed: int, store: Store, *, force: bool = False) -> dict[str, Any]:
    """Render one clip into the store under its content key (reusing it when present); returns its row."""
    from generators import Clip, clip_key

    label = generator.spec.label
    prefix = clip_prefix(label, clip_key(generator, scene, seed))
    manifest_key = f"{prefix}/manifest.json"
    if not force and store.exists(manifest_key):
        clip = Clip.model_validate(store.get_json(manifest_key))
        return _row(store, prefix, clip, reused=True)
    with tempfile.TemporaryDirectory(prefix="mtavg-render-") as tmp:
        rendered = generator.render(scene, seed, Path(tmp))
        for path in sorted(Path(tmp).rglob("*")):
            if path.is_file() and path.name != "manifest.json":
                store.put_file(f"{prefix}/{path.relative_to(tmp).as_posix()}", path)
        store.put_json(manifest_key, rendered.manifest.model_dump(mode="json"))  # last: its presence means complete
        return _row(store, prefix, rendered.manifest, reused=False)


def _row(store: Store, prefix: str, clip: Any, reused: bool) -> dict[str, Any]:
    where = store.local_path if store.is_local else store.url_for
    return {"clip": str(where(f"{prefix}/{clip.video or 'clip.mp4'}")), "manifest": str(where(f"{prefix}/manifest.json")),
            "scene": clip.scene, "duration_s": clip.duration_s, "faults": [f.fault for f in clip.faults],
            "status": clip.status.value, "reused": reused}


def render_to_folder(generator: Any, scene: Scene, seed: int, out: Path) -> dict[str, Any]:
    """Render one clip into `out/<generator label>/<scene>-seed<N>/`."""
    folder = out / safe_segment(generator.spec.label) / f"{scene.id}-seed{seed}"
    rendered = generator.render(scene, seed, folder)
    clip = rendered.manifest
    return {"clip": str(rendered.video_path), "manifest": str(folder / "manifest.json"), "scene": clip.scene,
            "duration_s": clip.duration_s, "faults": [f.fault for f in clip.faults], "status": clip.status.value, "reused": False}


def _scenes(suite: str | None, scene: str | None) -> list[Scene]:
    if (suite is None) == (scene is None) and not (suite and scene):
        fail("give --suite NAME or --scene ID (a scene id, or a scene YAML file)")
    try:
        if scene is None:
            return list(load_suite(suite).scenes)
        if suite is not None:
            return [find_scene(scene, suite)]
        try:
            return [find_scene(scene, "default")]
        except SceneFileError:
            for name in bundled_suites():  # a scene id from any bundled suite
                try:
                    return [find_scene(scene, name)]
                except SceneFileError:
                    continue
            raise
    except SceneFileError as exc:
        fail(str(exc))


def register(app: typer.Typer) -> None:
    @app.command("render")
    def render(
        generator: Annotated[str, typer.Option("--generator", "-g", help="generator spec, e.g. procedural:flawed, procedural@cfg.yaml, procedural?faults=dead_air")] = "procedural",
        suite: Annotated[str | None, typer.Option("--suite", "-s", help="render every scene of a suite")] = None,
        scene: Annotated[str | None, typer.Option("--scene", help="render one scene (id, or a YAML file)")] = None,
        seed: Annotated[int, typer.Option("--seed", help="render seed (faults, music, voices)")] = 0,
        out: Annotated[Path | None, typer.Option("--out", help="write clips into this folder instead of the store")] = None,
        force: Annotated[bool, typer.Option("--force", help="render even when the clip is already in the store")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print [{clip, manifest, scene, duration_s}] as JSON")] = False,
    ) -> None:
        """Render scenes to MP4 clips with manifests (turn and shot timings, injected faults)."""
        from generators import build_generator

        scenes = _scenes(suite, scene)
        try:
            gen = build_generator(generator)
        except SpecError as exc:
            fail(str(exc))
        store = Store() if out is None else None
        rows: list[dict[str, Any]] = []
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.fields[scene]}"), console=err_console, transient=as_json) as progress:
            task = progress.add_task(f"render {gen.spec.label}", total=len(scenes), scene="")
            for sc in scenes:
                progress.update(task, scene=sc.id)
                try:
                    row = render_to_folder(gen, sc, seed, out) if out is not None else render_clip(gen, sc, seed, store, force=force)
                except Exception as exc:  # noqa: BLE001 - one bad scene must not hide the others' results
                    err_console.print(f"[red]render failed for {sc.id}:[/] {exc}")
                    row = {"clip": None, "manifest": None, "scene": sc.id, "duration_s": 0.0, "status": "failed", "error": str(exc)}
                rows.append(row)
                progress.advance(task)
        if as_json:
            print_json(rows)
        else:
            for row in rows:
                faults = ", ".join(row.get("faults") or []) or "no faults"
                note = " (reused)" if row.get("reused") else ""
                err_console.print(f"{row['scene']}: {row['duration_s']:.1f}s {faults}{note}\n  {row['clip']}", highlight=False)
        if any(r["status"] == "failed" for r in rows):
            raise typer.Exit(1)
