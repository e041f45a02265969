"""`fit_probe_models`, the model half of `mtavg judges fit-probes`, on a few real rendered clips."""

from __future__ import annotations

from diagnosers import build_judge
from diagnosers.media import ClipMedia
from diagnosers.probes import THRESHOLDS
from diagnosers.probes.fitting import fit_probe_models
from scenes import load_suite


def test_a_trial_fit_writes_its_models_apart_and_keeps_one_picture_decoded_at_a_time(tmp_path):
    from generators import build_generator

    options = build_judge("probes").media_options
    samples = []
    for k, scene in enumerate(load_suite("mini").scenes):
        r = build_generator("procedural:random").render(scene, k, tmp_path / scene.id)
        samples.append((ClipMedia.open(r.video_path, scene, **options), r.manifest))
    bundled = {p.name: p.read_bytes() for p in THRESHOLDS.parent.glob("*.json")}

    summary = fit_probe_models(samples, out_dir=tmp_path / "models")

    written = {p.name for p in (tmp_path / "models").iterdir()}
    assert {"speech_model.json", "music_model.json", "faces_model.json"} <= written
    assert summary["speech_frames"] > 1000 and 0.5 < summary["speech_train_accuracy"] <= 1.0
    # three clips are too few for the grading and action models: they are skipped, with the reason
    assert summary["grading_clips"] == 0 and "action_model.json" not in written
    assert "needs 5" in summary["action_model_skipped"]
    assert {p.name: p.read_bytes() for p in THRESHOLDS.parent.glob("*.json")} == bundled  # nothing bundled touched
    assert not any(media.decoded for media, _ in samples)  # each picture dropped once the fit moved on
    assert all(len(media.audio) > 0 for media, _ in samples)
