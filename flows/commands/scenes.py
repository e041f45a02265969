"""`mtavg scenes list|show|validate`: browse the bundled suites and check scene files before a render."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from flows.commands.common import console, fail, print_json
from scenes import Scene, SceneFileError, Suite, find_scene, load_suite, plan_timeline
from scenes.loader import read_yaml
from scenes.vocabulary import Delivery

scenes_app = typer.Typer(help="Scene scripts: list a suite, show a scene, validate files.", no_args_is_help=True)

SuiteOption = Annotated[str, typer.Option("--suite", "-s", help="bundled suite name, composed?n=..&seed=.., file or folder")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def _load(suite: str) -> Suite:
    try:
        return load_suite(suite)
    except SceneFileError as exc:
        fail(str(exc))


def _summary_row(scene: Scene) -> dict:
    setting = scene.setting
    return {
        "id": scene.id,
        "title": scene.title,
        "characters": [c.id for c in scene.characters],
        "lines": len(scene.lines),
        "shots": len(scene.shots),
        "planned_seconds": round(scene.planned_seconds(), 1),
        "mood": scene.atmosphere.mood.value,
        "setting": setting.location,
        "interior": setting.interior,
        "time_of_day": setting.time_of_day.value,
    }


@scenes_app.command("list")
def list_scenes(suite: SuiteOption = "default", as_json: JsonOption = False) -> None:
    """List the scenes of a suite: cast, lines, shots, planned length, mood and setting."""
    loaded = _load(suite)
    rows = [_summary_row(scene) for scene in loaded.scenes]
    if as_json:
        dramas = [{"id": d.id, "title": d.title, "scenes": list(d.scenes)} for d in loaded.dramas]
        print_json({"suite": loaded.id, "title": loaded.title, "scenes": rows, "dramas": dramas})
        return
    table = Table(title=f"{loaded.title} ({loaded.id}): {len(rows)} scenes, {len(loaded.dramas)} dramas")
    for column, justify in [("id", "left"), ("title", "left"), ("characters", "left"), ("lines", "right"),
                            ("shots", "right"), ("seconds", "right"), ("mood", "left"), ("setting", "left")]:
        table.add_column(column, justify=justify, no_wrap=column in {"id", "lines", "shots", "seconds"})  # type: ignore[arg-type]
    for row in rows:
        where = f"{row['setting']} ({'int' if row['interior'] else 'ext'}, {row['time_of_day']})"
        table.add_row(row["id"], row["title"], ", ".join(row["characters"]), str(row["lines"]), str(row["shots"]),
                      f"{row['planned_seconds']:.1f}", row["mood"], where)
    console.print(table)
    for drama in loaded.dramas:
        console.print(f"[bold]drama[/] {drama.id}: {drama.title} — {' → '.join(drama.scenes)}", highlight=False)


def _shot_heading(index: int, scene: Scene) -> str:
    shot = scene.shots[index]
    parts = [shot.size.value.replace("_", " ")]
    if shot.angle.value != "eye_level":
        parts.append(shot.angle.value.replace("_", " "))
    if shot.movement.value != "static":
        parts.append(shot.movement.value.replace("_", " "))
    names = ", ".join(scene.character(cid).name for cid in shot.subjects)
    extra = f", {shot.duration_s:g} s" if shot.duration_s else ""
    return f"SHOT {index + 1}: {' · '.join(parts)} on {names}{extra}"


def _render_script(scene: Scene) -> None:
    setting, atmosphere = scene.setting, scene.atmosphere
    timeline = plan_timeline(scene)
    console.print(f"[bold]{scene.title}[/]  ({scene.id}, ~{timeline.duration_s:.1f} s planned)", highlight=False)
    where = "INT." if setting.interior else "EXT."
    light = ", ".join(x for x in [setting.lighting, setting.brightness and setting.brightness.value,
                                  setting.palette and setting.palette.value] if x)
    console.print(f"{where} {setting.location.upper()} — {setting.time_of_day.value.upper()} ({light})", highlight=False)
    music = f"music {atmosphere.music.mood.value} at {atmosphere.music.intensity:g}" if atmosphere.music else "no music"
    ambience = ", ".join(atmosphere.ambience) or "none"
    console.print(f"mood {atmosphere.mood.value}; {music}; ambience: {ambience}", highlight=False)
    console.print("cast:", highlight=False)
    for c in scene.characters:
        voice = f"{c.voice.gender} voice, pitch {c.voice.pitch:+d}, rate {c.voice.rate:g}"
        console.print(f"  {c.name} ({c.id}): {c.look}; {voice}", highlight=False)
    sounds: dict[int, list[str]] = {}
    for cue in atmosphere.sounds:
        sounds.setdefault(cue.at_line, []).append(cue.cue)
    for s, shot in enumerate(scene.shots):
        span = timeline.shots[s]
        console.print(Text(f"\n{_shot_heading(s, scene)}  [{span.start:.1f}–{span.end:.1f} s]", style="bold cyan"))
        for index in shot.lines:
            line = scene.lines[index]
            tags = [line.emotion.value]
            if line.delivery is not Delivery.normal:
                tags.append(line.delivery.value.replace("_", "-"))
            if line.addressee:
                tags.append(f"to {scene.character(line.addressee).name}")
            text = Text(f"  {index:>2} {scene.character(line.speaker).name.upper()} ({', '.join(tags)}): ")
            text.append(line.text)
            console.print(text)
            if line.action:
                console.print(Text(f"       ({line.action})", style="italic"))
            for cue in sounds.get(index, []):
                console.print(Text(f"       SOUND: {cue}", style="yellow"))


@scenes_app.command("show")
def show_scene(
    scene_id: Annotated[str, typer.Argument(metavar="ID", help="scene or drama id in the suite, or a scene YAML file")],
    suite: SuiteOption = "default",
    as_json: JsonOption = False,
) -> None:
    """Print one scene's script (setting, cast, shots with lines, actions, sound cues), or a drama's scenes."""
    drama = _drama_or_none(scene_id, suite)
    if drama is not None:
        loaded, did = drama
        scenes = [loaded.scene(sid) for sid in loaded.drama(did).scenes]
        if as_json:
            print_json({"drama": did, "title": loaded.drama(did).title, "scenes": [_scene_json(s) for s in scenes]})
            return
        console.print(f"[bold]DRAMA {did}: {loaded.drama(did).title}[/] ({len(scenes)} scenes)\n", highlight=False)
        for number, scene in enumerate(scenes, start=1):
            console.rule(f"scene {number} of {len(scenes)}")
            _render_script(scene)
        return
    try:
        scene = find_scene(scene_id, suite)
    except SceneFileError as exc:
        fail(str(exc))
    if as_json:
        print_json(_scene_json(scene))
        return
    _render_script(scene)


def _drama_or_none(ref: str, suite: str) -> tuple[Suite, str] | None:
    if Path(ref).suffix in {".yaml", ".yml"}:
        return None
    loaded = _load(suite)
    return (loaded, ref) if any(d.id == ref for d in loaded.dramas) else None


def _scene_json(scene: Scene) -> dict:
    timeline = plan_timeline(scene)
    payload = scene.model_dump(mode="json")
    payload["planned"] = {
        "duration_s": timeline.duration_s,
        "bins": timeline.bins(),
        "lines": [[sp.start, sp.end] for sp in timeline.lines],
        "shots": [[sp.start, sp.end] for sp in timeline.shots],
    }
    payload["content_hash"] = scene.content_hash()
    return payload


def _is_scene_file(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        data = read_yaml(path)
    except SceneFileError:
        return False  # load_suite reports the same problem with its own wording
    return "lines" in data and "scenes" not in data


@scenes_app.command("validate")
def validate(
    path: Annotated[str, typer.Argument(metavar="PATH", help="a scene file, a suite file or a suite folder")],
) -> None:
    """Check a scene file, suite file or suite folder; print each problem as FILE: field.path: message."""
    target = Path(path)
    try:
        if _is_scene_file(target):
            from scenes import load_scene_file

            scene = load_scene_file(target)
            print(f"ok: scene {scene.id!r}: {len(scene.characters)} characters, {len(scene.lines)} lines, "
                  f"{len(scene.shots)} shots, {scene.planned_seconds():.1f} s planned")
            return
        suite = load_suite(path)
    except SceneFileError as exc:
        sys.stderr.write(str(exc) + "\n")
        raise typer.Exit(2) from None
    lines = sum(len(s.lines) for s in suite.scenes)
    shots = sum(len(s.shots) for s in suite.scenes)
    seconds = sum(s.planned_seconds() for s in suite.scenes)
    print(f"ok: suite {suite.id!r}: {len(suite.scenes)} scenes, {len(suite.dramas)} dramas, {lines} lines, "
          f"{shots} shots, {seconds / 60:.1f} min planned")


def register(app: typer.Typer) -> None:
    app.add_typer(scenes_app, name="scenes")
