"""`mtavg questions`: the QA items a suite yields, counted or printed as JSON."""

from __future__ import annotations

import json
import sys
from collections import Counter

import typer
from rich.table import Table

from flows.commands.common import console, fail
from scenes import SceneFileError, load_suite
from taxonomy import Format, Level, QAItem, load_taxonomy
from taxonomy.qa import build_items, drama_items, scene_items


def _select(suite_name: str, scene: str | None, drama: str | None) -> list[QAItem]:
    try:
        suite = load_suite(suite_name)
    except SceneFileError as exc:
        fail(str(exc))
    if scene:
        try:
            return scene_items(suite.scene(scene))
        except KeyError as exc:
            fail(str(exc.args[0]))
    if drama:
        try:
            chosen = suite.drama(drama)
        except KeyError as exc:
            fail(str(exc.args[0]))
        return drama_items(chosen, [suite.scene(s) for s in chosen.scenes])
    return build_items(suite)


def _table(title: str, counts: Counter, order: list[str]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(title.split(" by ")[-1])
    table.add_column("items", justify="right")
    for key in order:
        if counts.get(key):
            table.add_row(key, f"{counts[key]:,}")
    return table


def print_counts(items: list[QAItem]) -> None:
    taxonomy = load_taxonomy()
    modes = {m for item in items for m in item.modes}
    console.print(f"[bold]{len(items):,}[/] items, {len(modes)} of {len(taxonomy.modes)} failure modes covered")
    console.print(_table("Items by format", Counter(i.format.value for i in items), [f.value for f in Format]))
    console.print(_table("Items by level", Counter(i.level.value for i in items), [lv.value for lv in Level]))
    by_sub = Counter(i.sub_dimension for i in items)
    table = Table(title="Items by sub-dimension", title_justify="left")
    for column in ("sub-dimension", "name", "items", "modes covered"):
        table.add_column(column, justify="right" if column in {"items", "modes covered"} else "left")
    for sub in taxonomy.sub_dimensions:
        covered = sum(m.id in modes for m in sub.modes)
        table.add_row(sub.code, sub.name, f"{by_sub.get(sub.code, 0):,}", f"{covered}/{len(sub.modes)}")
    console.print(table)


def register(app: typer.Typer) -> None:
    @app.command("questions")
    def questions_command(
        suite: str = typer.Option("default", "--suite", "-s", help="Suite name, composed?n=..&seed=.., or path."),
        count: bool = typer.Option(False, "--count", help="Print counts by format, level and sub-dimension."),
        as_json: bool = typer.Option(False, "--json", help="Print the items as a JSON list."),
        scene: str | None = typer.Option(None, "--scene", help="Only the items of this scene."),
        drama: str | None = typer.Option(None, "--drama", help="Only the items of this drama."),
        fmt: Format | None = typer.Option(None, "--format", help="Only items of this format."),
        level: Level | None = typer.Option(None, "--level", help="Only items of this level."),
    ) -> None:
        """The QA items a suite yields: counts (default) or the items as JSON."""
        if count and as_json:
            fail("choose one of --count and --json")
        if scene and drama:
            fail("choose one of --scene and --drama")
        items = _select(suite, scene, drama)
        items = [i for i in items if (fmt is None or i.format is fmt) and (level is None or i.level is level)]
        if as_json:
            # one write: 10k items print in well under a second
            sys.stdout.write(json.dumps([i.public_json() for i in items], ensure_ascii=False) + "\n")
            sys.stdout.flush()
        else:
            print_counts(items)
