"""The taxonomy as data and `mtavg taxonomy` (tree and JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from flows.cli import app
from taxonomy import Modality, Scope, load_taxonomy
from taxonomy.model import DATA

ROOT = Path(__file__).resolve().parents[1]
DESIGN_IDS = {
    "dp.speaker_identity_error", "ip.dialogue_turn_taking_failure", "mc.lighting_emotion_conflict",
    "ig.180_degree_rule_violation", "ct.character_continuity_break", "ep.co_speech_gesture_inconsistency",
    "mc.scene_music_emotion_conflict", "ic.camera_action_misalignment", "ig.30_degree_rule_violation",
    "sf.lip_sync_offset", "sf.non_speaker_lip_motion", "sf.audio_dropout", "sf.frozen_video",
}
MODES_PER_SUB = {"EP": 6, "MP": 6, "DP": 3, "IP": 6, "MC": 5, "EC": 5, "SD": 3, "IC": 5, "IG": 3, "CT": 3, "SF": 4}


@pytest.fixture(scope="module")
def published() -> dict:
    result = CliRunner().invoke(app, ["taxonomy", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_has_exactly_the_published_shape(published):
    assert set(published) == {"version", "sub_dimensions", "groupings"}
    for sub in published["sub_dimensions"]:
        assert set(sub) == {"code", "name", "modes"}
        for mode in sub["modes"]:
            assert set(mode) == {"id", "name", "definition", "cues", "modalities", "scope"}


def test_json_holds_eleven_sub_dimensions_and_49_modes_with_design_ids(published):
    subs = published["sub_dimensions"]
    assert {s["code"]: len(s["modes"]) for s in subs} == MODES_PER_SUB
    ids = [m["id"] for s in subs for m in s["modes"]]
    assert len(ids) == len(set(ids)) == 49
    assert DESIGN_IDS <= set(ids)
    for sub in subs:
        for mode in sub["modes"]:
            assert mode["id"].startswith(sub["code"].lower() + ".")
            assert mode["definition"].strip() and mode["cues"] and all(c.strip() for c in mode["cues"])
            assert mode["modalities"] in {m.value for m in Modality}
            assert mode["scope"] in {s.value for s in Scope}


def test_json_groupings_match_the_paper_and_the_four_dimensions(published):
    groupings = published["groupings"]
    assert groupings["paper"] == {
        "acting": ["EP", "MP", "DP", "IP"], "atmosphere": ["MC", "EC", "SD"], "cinematography": ["IC", "IG", "CT"],
    }
    assert groupings["dimensions"] == {
        "acting": ["EP", "MP", "IP"], "narrative": ["DP", "CT"], "atmosphere": ["MC", "EC", "SD"],
        "audio_visual_language": ["IC", "IG"], "signal": ["SF"],
    }
    every = {c for groups in groupings["dimensions"].values() for c in groups}
    assert every == set(MODES_PER_SUB)


def test_paper_codes_leave_out_signal_fidelity():
    assert load_taxonomy().paper_codes == ["EP", "MP", "DP", "IP", "MC", "EC", "SD", "IC", "IG", "CT"]


def test_tree_lists_every_mode_and_grouping():
    result = CliRunner().invoke(app, ["taxonomy", "--definitions"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for mode in load_taxonomy().modes:
        assert mode.id in result.stdout
    assert "audio_visual_language: IC IG" in result.stdout
    assert "cues:" in result.stdout


def test_a_broken_taxonomy_file_is_refused(tmp_path):
    data = yaml.safe_load(DATA.read_text())
    data["sub_dimensions"][1]["modes"].append(dict(data["sub_dimensions"][0]["modes"][0]))  # an EP mode under MP
    bad = tmp_path / "taxonomy.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ValidationError, match="does not belong to sub-dimension MP"):
        load_taxonomy(str(bad))


def test_taxonomy_doc_places_every_sub_dimension():
    doc = (ROOT / "docs" / "taxonomy.md").read_text()
    for code in MODES_PER_SUB:
        assert f"**{code}**" in doc
    for group in ("acting", "narrative", "atmosphere", "audio_visual_language", "signal", "cinematography"):
        assert group in doc
