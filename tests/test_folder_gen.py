"""The folder generator: clips delivered elsewhere, mapped to scenes by a CSV or JSON manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from generators import build_generator, clip_key
from generators.folder import FolderDeliveryError
from scenes import load_suite
from storage import SpecError, sha256_file
from tests.fakes.veo_server import render_test_clip

SUITE = load_suite("mini")


def video_only(path: Path, seconds: float = 1.0) -> None:
    """An MP4 with a picture and no sound (a delivery mistake the importer must catch)."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(int(seconds * 10)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20 % 255, np.uint8), format="rgb24")
            c.mux(s.encode(frame))
        c.mux(s.encode())


@pytest.fixture
def delivery(tmp_path) -> Path:
    folder = tmp_path / "acme-0412"
    (folder / "clips").mkdir(parents=True)
    (folder / "clips" / "quarrel.mp4").write_bytes(render_test_clip(3.0, seed=1))
    (folder / "clips" / "morning.mp4").write_bytes(render_test_clip(2.0, seed=2))
    (folder / "manifest.csv").write_text(
        "scene,file,vendor,model\nkitchen-quarrel,clips/quarrel.mp4,acme,av-2\nkitchen-morning,clips/morning.mp4,acme,av-2\n"
    )
    return folder


def test_csv_delivery_imports_clips_by_scene(delivery, tmp_path):
    gen = build_generator(f"folder?path={delivery}")
    assert gen.version.startswith("acme/av-2+")
    scene = SUITE.scene("kitchen-quarrel")
    rendered = gen.render(scene, 0, tmp_path / "w")
    m = rendered.manifest
    assert m.status.value == "ok" and m.generator_name == "folder" and m.timings == "planned"
    assert m.sha256 == sha256_file(str(delivery / "clips" / "quarrel.mp4")) == sha256_file(str(rendered.video_path))
    assert m.duration_s == pytest.approx(3.0, abs=0.1) and m.sample_rate == 48000
    assert m.extra["source"] == "clips/quarrel.mp4" and m.extra["vendor"] == "acme"
    assert len(m.lines) == len(scene.lines) and m.lines[-1].end <= m.duration_s + 1e-6  # stretched to the clip
    missing = gen.render(SUITE.scene("park-bench"), 0, tmp_path / "x").manifest
    assert missing.status.value == "failed" and "no clip delivered for scene 'park-bench'" in missing.failure


def test_json_delivery_with_seeds_and_overrides(tmp_path):
    folder = tmp_path / "release"
    folder.mkdir()
    for seed in (0, 1):
        (folder / f"q{seed}.mp4").write_bytes(render_test_clip(1.0 + seed, seed=seed))
    (folder / "map.json").write_text(json.dumps({"vendor": "bench", "model": "mtavg-2.0", "clips": [
        {"scene": "kitchen-quarrel", "file": "q0.mp4", "seed": 0},
        {"scene": "kitchen-quarrel", "file": "q1.mp4", "seed": 1},
    ]}))
    gen = build_generator(f"folder?path={folder}&manifest=map.json&model=release-a")
    assert gen.version.startswith("bench/release-a+")
    scene = SUITE.scene("kitchen-quarrel")
    assert gen.render(scene, 1, tmp_path / "a").manifest.duration_s == pytest.approx(2.0, abs=0.1)
    assert gen.render(scene, 0, tmp_path / "b").manifest.duration_s == pytest.approx(1.0, abs=0.1)
    m = gen.render(scene, 7, tmp_path / "c").manifest
    assert m.status.value == "failed" and "seed 7" in m.failure and "[0, 1]" in m.failure


def test_files_that_do_not_decode_or_lack_sound_are_named(delivery, tmp_path):
    video_only(delivery / "clips" / "morning.mp4")
    with pytest.raises(FolderDeliveryError, match=r"morning\.mp4: has no audio stream"):
        build_generator(f"folder?path={delivery}")
    gen = build_generator(f"folder?path={delivery}&strict=false")
    m = gen.render(SUITE.scene("kitchen-morning"), 0, tmp_path / "w").manifest
    assert m.status.value == "failed" and "has no audio stream" in m.failure
    assert gen.render(SUITE.scene("kitchen-quarrel"), 0, tmp_path / "v").manifest.status.value == "ok"
    (delivery / "clips" / "quarrel.mp4").write_bytes(b"not a video at all")
    with pytest.raises(FolderDeliveryError, match=r"quarrel\.mp4: not a decodable media file"):
        build_generator(f"folder?path={delivery}")


def test_version_follows_content_not_location(delivery, tmp_path):
    scene = SUITE.scene("kitchen-quarrel")
    gen = build_generator(f"folder?path={delivery}")
    moved = tmp_path / "elsewhere"
    shutil.copytree(delivery, moved)
    same = build_generator(f"folder?path={moved}")
    assert same.version == gen.version and clip_key(same, scene, 0) == clip_key(gen, scene, 0)
    (moved / "clips" / "quarrel.mp4").write_bytes(render_test_clip(3.0, seed=9))
    changed = build_generator(f"folder?path={moved}")
    assert changed.version != gen.version and clip_key(changed, scene, 0) != clip_key(gen, scene, 0)


def test_bad_manifests_name_file_and_field(tmp_path, delivery):
    (delivery / "manifest.csv").write_text("scene,path\nkitchen-quarrel,clips/quarrel.mp4\n")
    with pytest.raises(FolderDeliveryError, match=r"manifest\.csv: missing column\(s\) file"):
        build_generator(f"folder?path={delivery}")
    (delivery / "manifest.csv").write_text("scene,file,seed\nkitchen-quarrel,clips/quarrel.mp4,one\n")
    with pytest.raises(FolderDeliveryError, match=r"manifest\.csv:2: seed 'one' is not an integer"):
        build_generator(f"folder?path={delivery}")
    (delivery / "manifest.csv").write_text("scene,file\nkitchen-quarrel,../../etc/passwd\n")
    with pytest.raises(FolderDeliveryError, match="lies outside"):
        build_generator(f"folder?path={delivery}")
    with pytest.raises(FolderDeliveryError, match="delivery folder does not exist"):
        build_generator(f"folder?path={tmp_path / 'nope'}")
    with pytest.raises(SpecError, match="path"):
        build_generator("folder")


def test_yaml_config_resolves_the_folder_next_to_it(delivery, tmp_path):
    config = delivery.parent / "deliveries.yaml"
    config.write_text(f"path: {delivery.name}\nvendor: acme-studios\n")
    gen = build_generator(f"folder@{config}")
    assert gen.folder == delivery.resolve() and gen.version.startswith("acme-studios/av-2+")
    assert gen.render(SUITE.scene("kitchen-morning"), 0, tmp_path / "w").manifest.status.value == "ok"
