"""Shared fixtures for judge tests against the fake model servers: the scene, its clips, items, the API key."""

from __future__ import annotations

from pathlib import Path

import pytest

from .media import synthetic_clip


def items_per_format(scene, per_format: int, *, grouped: bool) -> list:
    """Up to `per_format` non-pairwise items of each format, grouped by format or in the scene's item order."""
    from taxonomy.items import Format
    from taxonomy.qa import scene_items

    chosen, seen = [], {}
    for item in scene_items(scene):
        if item.format is not Format.pairwise and seen.get(item.format, 0) < per_format:
            seen[item.format] = seen.get(item.format, 0) + 1
            chosen.append(item)
    if grouped:
        order = list(seen)
        chosen.sort(key=lambda i: order.index(i.format))  # stable: keeps the scene order within a format
    return chosen


def judge_fixtures(*, key_env: str, key: str, tones: tuple[float, ...], per_format: int, grouped: bool = False):
    """The `scene`, `clips`, `items` and autouse `api_key` fixtures of a judge test module; assign them to those names."""

    @pytest.fixture(scope="module")
    def scene():
        from scenes.loader import load_suite

        return load_suite("mini").scenes[0]

    @pytest.fixture(scope="module")
    def clips(tmp_path_factory, scene):
        from diagnosers.media import ClipMedia

        folder: Path = tmp_path_factory.mktemp("clips")
        return [ClipMedia.open(synthetic_clip(str(folder / f"c{k}.mp4"), tone_hz=tone), scene) for k, tone in enumerate(tones)]

    @pytest.fixture(scope="module")
    def items(scene):
        return items_per_format(scene, per_format, grouped=grouped)

    @pytest.fixture(autouse=True)
    def api_key(monkeypatch):
        monkeypatch.setenv(key_env, key)

    return scene, clips, items, api_key
