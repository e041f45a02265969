"""Gold answers from clip manifests: a fault injector's manifest is the truth for the modes it controls.

The logic of turning "where modes occur" into an item's answer lives in `taxonomy.gold` (shared with
human annotations); this module picks the right manifests for each item (one clip for scene items,
the chain for drama items, clips A and B for pairwise items) and leaves gold unknown (None) where a
clip is missing, failed, or the item's modes are not controlled by its generator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from generators.base import Clip, ClipStatus
from taxonomy.gold import ClipTruth, gold_for
from taxonomy.items import Answer, Format, Level, QAItem


def truth_of(manifest: Clip) -> ClipTruth:
    """Where each controlled mode occurs in one clip, from its injected faults."""
    return ClipTruth.from_manifest(manifest)


def _chain(item: QAItem, clips: Mapping[str, Clip]) -> list[ClipTruth] | None:
    scenes = list(item.scenes) if item.level is Level.drama else [item.scene or (item.scenes[0] if item.scenes else "")]
    chain = [clips.get(s) for s in scenes]
    if any(c is None or c.status is not ClipStatus.ok for c in chain):
        return None
    return [truth_of(c) for c in chain]


def gold_answer(item: QAItem, clips: Mapping[str, Clip], other: Mapping[str, Clip] | None = None) -> Answer | None:
    """The item's gold from the clips by scene id (pairwise: `other` holds clip B), or None if unknown."""
    chain = _chain(item, clips)
    if chain is None:
        return None
    if item.format is Format.pairwise:
        if other is None:
            return None
        chain_b = _chain(item, other)
        if chain_b is None:
            return None
        single = item.level is not Level.drama
        return gold_for(item, chain[0] if single else chain, chain_b[0] if single else chain_b)
    return gold_for(item, chain[0] if item.level is not Level.drama else chain)


def fill_gold(items: Sequence[QAItem], clips: Mapping[str, Clip] | Sequence[Clip] | Clip,
              other: Mapping[str, Clip] | Sequence[Clip] | Clip | None = None) -> list[QAItem]:
    """Copies of `items` with gold filled from the manifests (by scene id); unknown gold stays None."""
    by_scene = _by_scene(clips)
    by_scene_b = _by_scene(other) if other is not None else None
    return [item.with_gold(gold_answer(item, by_scene, by_scene_b)) for item in items]


def _by_scene(clips: Mapping[str, Clip] | Sequence[Clip] | Clip) -> dict[str, Clip]:
    if isinstance(clips, Clip):
        return {clips.scene: clips}
    if isinstance(clips, Mapping):
        return dict(clips)
    out: dict[str, Clip] = {}
    for clip in clips:
        if clip.scene in out:
            raise ValueError(f"two manifests for scene {clip.scene!r}; pass one clip per scene")
        out[clip.scene] = clip
    return out
