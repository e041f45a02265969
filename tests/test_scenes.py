"""Scene scripts: the bundled default suite, the seeded composer and `mtavg scenes` through the CLI."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flows.cli import app
from scenes import (
    MOOD_AFFECT,
    Angle,
    Delivery,
    Movement,
    ShotSize,
    TimeOfDay,
    load_suite,
)
from scenes.composer import compose_suite

runner = CliRunner()
SOUND_KEYWORDS = ("door", "knock", "slam", "crash", "smash", "bell", "phone", "glass", "thunder",
                  "footsteps", "gunshot", "applause", "car horn", "dog bark")


def mtavg(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def default_suite():
    return load_suite("default")


# ---------------------------------------------------------------- the default suite

def test_default_suite_size_and_shape(default_suite):
    assert len(default_suite.scenes) >= 40
    for scene in default_suite.scenes:
        assert 2 <= len(scene.characters) <= 4, scene.id
        assert 4 <= len(scene.lines) <= 12, scene.id
        assert 8.0 <= scene.planned_seconds() <= 25.0, scene.id
        assert {line.speaker for line in scene.lines} == {c.id for c in scene.characters}, scene.id
        assert all(len(line.text.split()) <= 12 for line in scene.lines), scene.id
    words = [len(line.text.split()) for scene in default_suite.scenes for line in scene.lines]
    assert sum(3 <= w <= 12 for w in words) / len(words) > 0.9


def test_default_suite_variety(default_suite):
    scenes = default_suite.scenes
    lines = [line for scene in scenes for line in scene.lines]
    assert {line.delivery for line in lines} == set(Delivery)
    assert len({line.emotion for line in lines}) >= 25
    assert {scene.setting.interior for scene in scenes} == {True, False}
    assert {scene.setting.time_of_day for scene in scenes} == set(TimeOfDay)
    music = [scene.atmosphere.music for scene in scenes if scene.atmosphere.music]
    assert len(music) == len(scenes)
    assert any(MOOD_AFFECT[m.mood][0] > 0 for m in music) and any(MOOD_AFFECT[m.mood][0] < 0 for m in music)
    assert all(scene.atmosphere.ambience for scene in scenes)
    cues = [cue.cue for scene in scenes for cue in scene.atmosphere.sounds]
    for keyword in SOUND_KEYWORDS:
        assert any(keyword in cue for cue in cues), keyword
    assert sum(1 for line in lines if line.action) >= 40


def test_default_suite_shot_patterns(default_suite):
    shots = [(scene, shot) for scene in default_suite.scenes for shot in scene.shots]
    establishing = [s for _, s in shots if not s.lines and s.duration_s and s.size in {ShotSize.extreme_wide, ShotSize.wide}]
    two_shots = [s for _, s in shots if s.lines and len(s.subjects) >= 2 and s.size in {ShotSize.wide, ShotSize.medium}]
    assert len(establishing) >= 10 and len(two_shots) >= 20
    assert sum(s.angle is Angle.over_shoulder for _, s in shots) >= 15
    assert sum(s.movement is Movement.push_in for _, s in shots) >= 15
    assert any(s.movement in {Movement.pan_left, Movement.pan_right} for _, s in shots)
    # shot/reverse-shot: consecutive single shots on two different speakers
    reverse = 0
    for scene in default_suite.scenes:
        singles = [s.subjects[0] if len(s.subjects) == 1 else None for s in scene.shots]
        reverse += any(a and b and a != b for a, b in itertools.pairwise(singles))
    assert reverse >= 25


def test_default_dramas_keep_one_cast(default_suite):
    assert len(default_suite.dramas) >= 6
    moved = 0
    for drama in default_suite.dramas:
        assert 3 <= len(drama.scenes) <= 5, drama.id
        scenes = [default_suite.scene(sid) for sid in drama.scenes]
        seen = {}
        for scene in scenes:
            for character in scene.characters:
                assert seen.setdefault(character.id, character) == character, (drama.id, character.id)
        assert set.intersection(*({c.id for c in s.characters} for s in scenes)), drama.id
        places = {(s.setting.location, s.setting.time_of_day) for s in scenes}
        moved += len(places) == len(scenes)
        assert len({s.setting.location for s in scenes}) >= 2 or len({s.setting.time_of_day for s in scenes}) >= 2
    assert moved >= 6


# ---------------------------------------------------------------- the composer

def test_composer_is_deterministic_and_valid():
    first, again, other = compose_suite(36, 5), compose_suite(36, 5), compose_suite(36, 6)
    assert first == again and first.content_hash() == again.content_hash()
    assert first.content_hash() != other.content_hash()
    assert [s.id for s in first.scenes] == [f"composed-5-{k}" for k in range(36)]
    assert load_suite("composed?n=36&seed=5") == first
    assert len(first.dramas) >= 3
    for drama in first.dramas:
        assert 3 <= len(drama.scenes) <= 5
        casts = [first.scene(sid).characters for sid in drama.scenes]
        assert all(cast == casts[0] for cast in casts)
    for scene in first.scenes:
        assert 2 <= len(scene.characters) <= 4 and 4 <= len(scene.lines) <= 12
        assert {line.speaker for line in scene.lines} == {c.id for c in scene.characters}
    big = compose_suite(300, 1)
    assert {line.delivery for s in big.scenes for line in s.lines} == set(Delivery)
    assert {s.setting.time_of_day for s in big.scenes} == set(TimeOfDay)


def test_composed_suite_through_cli():
    result = mtavg("scenes", "list", "--suite", "composed?n=9&seed=2", "--json")
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    assert [row["id"] for row in listing["scenes"]] == [f"composed-2-{k}" for k in range(9)]
    assert mtavg("scenes", "list", "--suite", "composed?n=0&seed=2").exit_code == 2


# ---------------------------------------------------------------- list / show / validate

def test_list_and_show(default_suite):
    result = mtavg("scenes", "list", "--json")
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    assert len(listing["scenes"]) == len(default_suite.scenes) and len(listing["dramas"]) >= 6
    row = next(r for r in listing["scenes"] if r["id"] == "case-alley")
    assert row["lines"] == 6 and row["characters"] == ["vera", "malik", "oskar"] and row["mood"] == "ominous"
    table = mtavg("scenes", "list", "--suite", "mini")
    assert table.exit_code == 0 and "kitchen-quarrel" in table.stdout and "kitchen-arc" in table.stdout

    shown = mtavg("scenes", "show", "case-alley")
    assert shown.exit_code == 0, shown.output
    assert "Get down! Everybody down!" in shown.stdout and "gunshot" in shown.stdout
    as_json = json.loads(mtavg("scenes", "show", "case-alley", "--json").stdout)
    assert as_json["id"] == "case-alley" and len(as_json["planned"]["lines"]) == 6
    assert as_json["content_hash"] == default_suite.scene("case-alley").content_hash()

    drama = mtavg("scenes", "show", "hollis-fire")
    assert drama.exit_code == 0 and "Get your coat." in drama.stdout and "Now someone pays." in drama.stdout
    drama_json = json.loads(mtavg("scenes", "show", "hollis-fire", "--json").stdout)
    assert [s["id"] for s in drama_json["scenes"]] == ["case-precinct", "case-diner", "case-alley", "case-rooftop"]

    missing = mtavg("scenes", "show", "no-such-scene")
    assert missing.exit_code == 2 and "no-such-scene" in missing.stderr


def test_validate_accepts_good_files():
    folder = Path(__file__).parent.parent / "scenes" / "suites" / "default"
    for target in [folder, folder / "suite.yaml", folder / "scenes" / "farm-field.yaml"]:
        result = mtavg("scenes", "validate", str(target))
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("ok: ") and result.stdout.count("\n") == 1


BASE_SCENE = {
    "id": "kitchen-quarrel",
    "title": "The burnt dinner",
    "setting": {"location": "small kitchen", "interior": True, "time_of_day": "night"},
    "characters": [{"id": "mara", "name": "Mara", "look": "red coat"}, {"id": "tom", "name": "Tom", "look": "beard"}],
    "lines": [
        {"speaker": "mara", "text": "You said seven."},
        {"speaker": "tom", "text": "The train stopped."},
        {"speaker": "mara", "text": "I heard the voicemail."},
    ],
    "shots": [{"subjects": ["mara", "tom"], "lines": [0, 1]}, {"subjects": ["mara"], "lines": [2]}],
}


def _scene(**changes) -> dict:
    scene = copy.deepcopy(BASE_SCENE)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = scene
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is None:
            del node[int(leaf) if leaf.isdigit() else leaf]
        elif leaf.isdigit():
            node[int(leaf)] = value
        else:
            node[leaf] = value
    return scene


def _suite(*scenes: dict, dramas: list | None = None) -> dict:
    return {"id": "bad-suite", "title": "Bad suite", "scenes": list(scenes), "dramas": dramas or []}


def _filler(k: int) -> dict:
    return _scene(id=f"filler-{k}")


def _long_scene() -> dict:
    words = " ".join(["word"] * 40)
    lines = [{"speaker": "mara" if i % 2 else "tom", "text": words} for i in range(40)]
    return _scene(lines=lines, shots=[{"subjects": ["mara", "tom"], "lines": list(range(40))}])


MALFORMED = {
    "unknown-speaker": (
        _suite(_filler(0), _filler(1), _filler(2), _scene(lines__2__speaker="bob")),
        "scenes[3].lines[2].speaker: 'bob' is not a character of scene 'kitchen-quarrel'",
    ),
    "missing-field": (_scene(title=None), "title: field required"),
    "unsafe-id": (_scene(id="Kitchen Quarrel!"), "id: 'Kitchen Quarrel!' is not a safe id"),
    "not-yaml": ("id: [unclosed\n  title: {", "not valid YAML"),
    "empty": ("   \n", "the file is empty"),
    "not-a-mapping": ("- just\n- a list\n", "expected a mapping at the top level"),
    "duplicate-ids": (_suite(_filler(0), _filler(0)), "scenes[1].id: duplicate scene id 'filler-0'"),
    "duplicate-character": (
        _scene(characters=[BASE_SCENE["characters"][0]] * 2 + [BASE_SCENE["characters"][1]]),
        "characters[1].id: duplicate character id 'mara'",
    ),
    "shot-covers-missing-line": (_scene(shots__1__lines=[2, 7]), "shots[1].lines[1]: line 7 does not exist"),
    "uncovered-line": (_scene(shots__1__lines=None, shots__1__duration_s=2.0), "lines[2]: no shot covers this line"),
    "too-long-text": (_scene(lines__0__text="x" * 301), "lines[0].text: String should have at most 300 characters"),
    "negative-duration": (_scene(shots__1__duration_s=-2), "shots[1].duration_s: Input should be greater than 0"),
    "scene-too-long": (_long_scene(), "lines: scene would last"),
    "sound-on-missing-line": (_scene(atmosphere={"sounds": [{"cue": "door slam", "at_line": 9}]}), "atmosphere.sounds[0].at_line: line 9 does not exist"),
    "unknown-drama-scene": (
        _suite(_filler(0), _filler(1), dramas=[{"id": "arc", "title": "Arc", "scenes": ["filler-0", "nowhere"]}]),
        "dramas[0].scenes[1]: 'nowhere' is not a scene of suite 'bad-suite'",
    ),
    "drama-cast-drift": (
        _suite(_filler(0), _scene(id="filler-1", characters__1__look="clean shaven"),
               dramas=[{"id": "arc", "title": "Arc", "scenes": ["filler-0", "filler-1"]}]),
        "dramas[0].scenes: character 'tom' has a different look in scene 'filler-1' than in 'filler-0'",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_validate_rejects_malformed_file(case, tmp_path):
    content, expected = MALFORMED[case]
    path = tmp_path / "suite.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
    result = mtavg("scenes", "validate", str(path))
    assert result.exit_code == 2, result.output
    assert f"{path}: {expected}" in result.stderr, result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["suite.yaml"]  # nothing written


def test_validate_folder_reports_every_bad_file(tmp_path):
    folder = tmp_path / "suite"
    (folder / "scenes").mkdir(parents=True)
    (folder / "suite.yaml").write_text(yaml.safe_dump({"id": "folder-suite", "title": "Folder suite"}))
    (folder / "scenes" / "good.yaml").write_text(yaml.safe_dump(_scene(id="good")))
    (folder / "scenes" / "bob.yaml").write_text(yaml.safe_dump(_scene(id="bob", lines__1__speaker="bob")))
    (folder / "scenes" / "renamed.yaml").write_text(yaml.safe_dump(_scene(id="other-name")))
    result = mtavg("scenes", "validate", str(folder))
    assert result.exit_code == 2
    errors = result.stderr.strip().splitlines()
    assert f"{folder / 'scenes' / 'bob.yaml'}: lines[1].speaker: 'bob' is not a character of scene 'bob'" in errors
    assert f"{folder / 'scenes' / 'renamed.yaml'}: id: 'other-name' does not match the file name 'renamed'" in errors
    (folder / "scenes" / "bob.yaml").unlink()
    (folder / "scenes" / "renamed.yaml").unlink()
    (folder / "suite.yaml").write_text(yaml.safe_dump({"id": "folder-suite", "title": "F", "scenes": ["good", "gone"]}))
    result = mtavg("scenes", "validate", str(folder / "suite.yaml"))
    assert result.exit_code == 2 and f"{folder / 'suite.yaml'}: scenes[1]: no file scenes/gone.yaml" in result.stderr
