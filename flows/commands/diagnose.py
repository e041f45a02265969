"""`mtavg diagnose`: answer every item of a scene about one clip with one judge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from flows.commands.common import console, fail, print_json


def diagnose_clip(judge_spec: str, clip: Path, scene_ref: str, suite: str) -> dict[str, Any]:
    """The verdicts of one judge on one clip for all of its scene's items (no pairwise: one clip)."""
    from diagnosers import build_judge
    from diagnosers.media import ClipMedia, MediaError
    from scenes.loader import SceneFileError, find_scene
    from storage import SpecError
    from taxonomy.items import Format
    from taxonomy.qa import scene_items

    try:
        scene = find_scene(scene_ref, suite)
    except SceneFileError as exc:
        fail(f"scene {scene_ref!r}: {exc}")
    try:
        judge = build_judge(judge_spec)
    except SpecError as exc:
        fail(str(exc))
    options = dict(getattr(judge, "media_options", None) or {})
    try:
        media = ClipMedia.open(clip, scene, **options)
        _ = media.frames  # decode now so a broken file fails here with its name
    except MediaError as exc:
        fail(str(exc))
    items = [i for i in scene_items(scene) if i.format is not Format.pairwise]
    verdicts = judge.answer(media, items)
    by_id = {i.id: i for i in items}
    flagged = sorted({by_id[v.item_id].modes[0] for v in verdicts
                      if by_id[v.item_id].format is Format.yes_no and v.answer is not None and v.answer.is_yes})
    coverage: dict[str, int] = {"items": len(items)}
    for v in verdicts:
        coverage[v.status.value] = coverage.get(v.status.value, 0) + 1
    return {
        "clip": str(clip), "scene": scene.id, "judge": judge.spec.label if judge.spec else judge.name,
        "judge_version": judge.version, "verdicts": [v.model_dump(mode="json") for v in verdicts],
        "flagged": flagged, "coverage": coverage,
    }


def register(app: typer.Typer) -> None:
    @app.command("diagnose")
    def diagnose(
        clip: Path = typer.Option(..., "--clip", help="the clip (MP4 with audio)"),
        scene: str = typer.Option(..., "--scene", help="scene id (in --suite) or a scene YAML path"),
        judge: str = typer.Option("probes", "--judge", help="judge spec, e.g. probes, random, gemini:flash"),
        suite: str = typer.Option("default", "--suite", help="suite holding the scene id"),
        as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
    ) -> None:
        """Answer all of a scene's questions about one clip with one judge."""
        if not clip.is_file():
            fail(f"--clip {clip}: no such file")
        result = diagnose_clip(judge, clip, scene, suite)
        if as_json:
            print_json(result)
            return
        from rich.table import Table

        console.print(f"[bold]{result['judge']}[/] on {result['clip']} (scene {result['scene']})")
        console.print("coverage: " + ", ".join(f"{k} {v}" for k, v in result["coverage"].items()))
        table = Table("flagged mode")
        for mode in result["flagged"]:
            table.add_row(mode)
        console.print(table if result["flagged"] else "no failure mode flagged")
