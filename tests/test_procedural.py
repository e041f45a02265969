"""The procedural generator through its public entry points: media checked by decoding, not by trusting the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from generators import Clip, build_generator, registry
from generators.gold import fill_gold
from scenes import Scene, load_suite
from storage import SpecError

QUIET = "?music=false&ambience=false&sound_cues=false&width=320&height=180"

DUO = Scene.model_validate({
    "id": "duo", "title": "Two at a table",
    "setting": {"location": "small kitchen", "interior": True, "time_of_day": "day"},
    "atmosphere": {"mood": "warm", "music": {"mood": "warm", "intensity": 0.3}, "ambience": ["fridge hum"],
                   "sounds": [{"cue": "door knock", "at_line": 1}]},
    "characters": [
        {"id": "ana", "name": "Ana", "look": "slim, red coat, long black hair", "voice": {"gender": "female", "pitch": 5}},
        {"id": "ben", "name": "Ben", "look": "stocky, blue sweater, beard, short brown hair", "voice": {"gender": "male", "pitch": -3}},
    ],
    "lines": [
        {"speaker": "ana", "text": "Did you bring the bread?", "emotion": "curious", "addressee": "ben", "pause_before_s": 0.5},
        {"speaker": "ben", "text": "I forgot it again, sorry.", "emotion": "guilty", "addressee": "ana", "pause_before_s": 0.6},
        {"speaker": "ana", "text": "Then we eat soup.", "emotion": "amused", "addressee": "ben", "pause_before_s": 0.6},
    ],
    "shots": [
        {"size": "medium", "subjects": ["ana", "ben"], "lines": [0, 1]},
        {"size": "close_up", "subjects": ["ana"], "lines": [2]},
    ],
})


def decode(path) -> tuple[np.ndarray, np.ndarray, int, float, float]:
    """Frames (N,H,W,3), mono audio, sample rate, video duration and audio duration, straight from the MP4."""
    with av.open(str(path)) as c:
        assert c.streams.video and c.streams.audio, "both streams expected"
        frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])])
        vfps = float(c.streams.video[0].average_rate)
    with av.open(str(path)) as c:
        rate = c.streams.audio[0].rate
        audio = np.concatenate([f.to_ndarray().mean(axis=0) for f in c.decode(c.streams.audio[0])])
    return frames, audio.astype(np.float32), rate, len(frames) / vfps, len(audio) / rate


@pytest.fixture(scope="module")
def quiet_clip(tmp_path_factory):
    gen = build_generator("procedural:clean" + QUIET)
    return gen.render(DUO, 0, tmp_path_factory.mktemp("quiet"))


def test_presets_and_config_errors():
    entry = registry.entry("procedural")
    assert {"clean", "flawed", "random"} <= set(entry.presets)
    assert build_generator("procedural:random").config.fault_rate > 0.3
    assert build_generator("procedural:flawed").config.fault_rates["lip_sync_offset"] == 0.6
    with pytest.raises(SpecError, match="unknown fault types.*no_such_fault"):
        build_generator("procedural?faults=no_such_fault")
    with pytest.raises(SpecError, match="even"):
        build_generator("procedural?width=321")


def test_clip_has_both_streams_duration_and_speech_where_the_lines_are(quiet_clip):
    m = quiet_clip.manifest
    frames, audio, sr, vdur, adur = decode(quiet_clip.video_path)
    assert frames.shape[1:] == (180, 320, 3)
    assert abs(vdur - m.duration_s) <= 1.0 / m.fps + 1e-6
    assert abs(adur - m.duration_s) < 0.1
    assert [ln.speaker for ln in m.lines] == ["ana", "ben", "ana"]

    def rms(a, b):
        seg = audio[int(a * sr):int(b * sr)]
        return float(np.sqrt(np.mean(seg ** 2))) if len(seg) else 0.0

    speech = [rms(ln.start, ln.end) for ln in m.lines]
    gaps = [rms(prev.end + 0.08, nxt.start - 0.08) for prev, nxt in zip(m.lines, m.lines[1:])]
    assert min(speech) > 0.02
    assert max(gaps) < 0.1 * min(speech), (speech, gaps)
    assert m.faults == []
    assert "ec.artificial_environment" not in m.controlled_modes
    assert {"sf.lip_sync_offset", "ig.180_degree_rule_violation", "dp.speaker_identity_error"} <= set(m.controlled_modes)
    assert set(m.stems) == {"voice_ana", "voice_ben"}
    for rel in m.stems.values():
        assert (quiet_clip.video_path.parent / rel).exists()


def test_two_shot_keeps_screen_sides_and_pictures_move(quiet_clip):
    m = quiet_clip.manifest
    assert m.shots[0].positions["ana"] < m.shots[0].positions["ben"]
    assert m.shots[1].positions["ana"] < 0.5  # the single keeps Ana on her side
    frames, *_ = decode(quiet_clip.video_path)
    motion = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    assert (motion > 0).mean() > 0.5  # mouths, blinks and gestures keep the picture alive


def test_same_seed_same_manifest_and_media(tmp_path, quiet_clip):
    gen = build_generator("procedural:clean" + QUIET)
    again = gen.render(DUO, 0, tmp_path / "again")
    a = quiet_clip.manifest.model_dump(mode="json")
    b = again.manifest.model_dump(mode="json")
    assert a == b
    fa, aa, *_ = decode(quiet_clip.video_path)
    fb, ab, *_ = decode(again.video_path)
    assert np.array_equal(fa, fb) and np.array_equal(aa, ab)


def test_fault_choice_is_deterministic_and_depends_on_seed():
    gen = build_generator("procedural:random")
    suite = load_suite("mini")
    plans = {s: [(f.name, f.line, f.shot) for f in gen.plan(suite.scenes[0], s)] for s in range(6)}
    assert plans[0] == [(f.name, f.line, f.shot) for f in gen.plan(suite.scenes[0], 0)]
    assert len({tuple(p) for p in plans.values()}) > 3


def test_switched_off_beds_are_not_claimed_as_controlled(quiet_clip):
    controlled = set(quiet_clip.manifest.controlled_modes)
    assert "sd.missing_ambient_sound" not in controlled  # no ambience drawn at all: the manifest cannot vouch
    assert "sd.missing_scripted_sound" not in controlled
    gen = build_generator("procedural:clean" + QUIET + "&faults=missing_ambience,dead_air")
    assert [f.name for f in gen.plan(DUO, 0)] == ["dead_air"]


def test_gold_from_manifest_only_for_controlled_modes(tmp_path):
    from taxonomy.qa import scene_items

    gen = build_generator("procedural:clean?faults=missing_ambience,dead_air&severity=1&width=320&height=180")
    rendered = gen.render(DUO, 0, tmp_path / "gold")
    m = rendered.manifest
    dead = next(f for f in m.faults if f.fault == "dead_air")
    assert dead.line in (1, 2) and dead.end - dead.start >= 2.4
    # the dead air is really there: the longest quiet stretch between speech sits where the manifest says
    items = fill_gold(scene_items(DUO), m)
    by = {(i.format.value, i.modes, i.slot.get("line")): i for i in items}
    assert by[("yes_no", ("sd.missing_ambient_sound",), None)].gold.is_yes
    assert by[("yes_no", ("ip.reaction_timing_failure",), dead.line)].gold.is_yes
    other = 1 if dead.line == 2 else 2
    assert by[("yes_no", ("ip.reaction_timing_failure",), other)].gold.choices == ("no",)
    assert by[("yes_no", ("sf.lip_sync_offset",), None)].gold.choices == ("no",)
    assert all(i.gold is None for i in items if "ec.artificial_environment" in i.modes)
    assert sum(i.gold is not None for i in items) > len(items) // 4
    reloaded = Clip.model_validate(json.loads((rendered.video_path.parent / "manifest.json").read_text()))
    assert reloaded == m


def test_cli_renders_scene_to_folder_and_store_with_json(tmp_path, monkeypatch):
    from flows.cli import app

    monkeypatch.setenv("MTAVG_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    spec = "procedural:flawed?width=192&height=108"
    out = runner.invoke(app, ["render", "--generator", spec, "--scene", "kitchen-quarrel", "--suite", "mini",
                              "--out", str(tmp_path / "clips"), "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert rows[0]["scene"] == "kitchen-quarrel" and rows[0]["duration_s"] > 5
    clip = Clip.model_validate_json(Path(rows[0]["manifest"]).read_text())
    assert clip.generator == "procedural:flawed"
    first = runner.invoke(app, ["render", "--generator", spec, "--scene", "kitchen-quarrel", "--suite", "mini", "--json"])
    again = runner.invoke(app, ["render", "--generator", spec, "--scene", "kitchen-quarrel", "--suite", "mini", "--json"])
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    a, b = json.loads(first.stdout)[0], json.loads(again.stdout)[0]
    assert str(tmp_path / "home") in a["clip"] and "/clips/procedural-flawed/" in a["clip"]
    assert a["clip"] == b["clip"] and b["reused"] and not a["reused"]
    bad = runner.invoke(app, ["render", "--generator", "procedural:nope", "--scene", "kitchen-quarrel", "--suite", "mini"])
    assert bad.exit_code == 2 and "no preset 'nope'" in bad.output
