"""Gold answers from ground truth: where each controlled failure mode occurs in a clip.

A fault injector's manifest (or a human annotation) says where modes occur; `gold_for` turns that into
an item's gold Answer, or None where the truth does not decide it (a mode is not controlled, a tie).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from taxonomy.items import NONE_OPTION, Answer, Format, Level, QAItem
from taxonomy.model import Taxonomy

BIN_S = 2.0



class Occurrence(BaseModel):
    """One stretch of a clip where a failure mode is present (from an injected fault, or annotated)."""

    model_config = ConfigDict(frozen=True)

    mode: str
    start: float = Field(ge=0.0)
    end: float = Field(ge=0.0)
    severity: float = Field(1.0, ge=0.0, le=1.0)
    line: int | None = Field(None, description="the line the fault was placed on, when it was")

    @property
    def weight(self) -> float:
        """How much of the mode this stretch holds: severity times length (instants count 40 ms)."""
        return self.severity * max(self.end - self.start, 0.04)


class ClipTruth(BaseModel):
    """What is known about one clip: where each controlled mode occurs; all else is unknown."""

    model_config = ConfigDict(frozen=True)

    duration_s: float = Field(ge=0.0)
    line_spans: tuple[tuple[float, float], ...] = ()
    occurrences: tuple[Occurrence, ...] = ()
    controlled_modes: frozenset[str] = frozenset()

    @classmethod
    def from_manifest(cls, manifest: Any) -> "ClipTruth":
        """From a clip manifest (`generators.Clip` or anything with its fields): faults are the truth."""
        spans = tuple((t.start, t.end) for t in sorted(manifest.lines, key=lambda t: t.index))
        occurrences = tuple(
            Occurrence(mode=m, start=f.start, end=f.end, severity=f.severity, line=f.line)
            for f in manifest.faults for m in f.modes
        )
        return cls(duration_s=manifest.duration_s, line_spans=spans, occurrences=occurrences,
                   controlled_modes=frozenset(manifest.controlled_modes))

    def amount(self, mode: str, line: int | None = None) -> float:
        """Total weight of a mode in the clip, or on one line (placed there, or overlapping its span)."""
        total = 0.0
        for occ in self.occurrences:
            if occ.mode != mode or occ.severity <= 0:
                continue
            if line is not None and not self._on_line(occ, line):
                continue
            total += occ.weight
        return total

    def _on_line(self, occ: Occurrence, line: int) -> bool:
        if occ.line is not None:
            return occ.line == line
        if line >= len(self.line_spans):
            return False
        start, end = self.line_spans[line]
        return occ.start < end and occ.end > start or (occ.start == occ.end and start <= occ.start <= end)

    def bins(self, mode: str, n_bins: int, bin_s: float = BIN_S) -> set[int]:
        """Indices of the time bins (clamped to the planned count) in which a mode occurs."""
        out: set[int] = set()
        for occ in self.occurrences:
            if occ.mode != mode or occ.severity <= 0:
                continue
            first = int(occ.start // bin_s)
            last = max(first, int(-(-occ.end // bin_s)) - 1)
            out.update(min(b, n_bins - 1) for b in range(first, last + 1))
        return out


Truth = ClipTruth | Sequence[ClipTruth]


def _chain(item: QAItem, truth: Truth) -> list[ClipTruth]:
    chain = [truth] if isinstance(truth, ClipTruth) else list(truth)
    expected = len(item.scenes) if item.level is Level.drama else 1
    if len(chain) != expected:
        raise ValueError(f"item {item.id} needs {expected} clip truth(s), got {len(chain)}")
    return chain


def _amount(item: QAItem, chain: list[ClipTruth], mode: str) -> float:
    if item.level is Level.drama and "boundary" in item.slot:
        return chain[item.slot["boundary"] + 1].amount(mode)  # a break is recorded on the clip it appears in
    return sum(t.amount(mode, item.slot.get("line")) for t in chain)


def _controls(chain: list[ClipTruth], modes: Iterable[str]) -> bool:
    return all(m in t.controlled_modes for t in chain for m in modes)


def _dominant(amounts: dict[str, float]) -> str | None:
    """The mode with the most weight, `none` when nothing occurs, None on an exact tie."""
    present = {m: a for m, a in amounts.items() if a > 0}
    if not present:
        return NONE_OPTION
    top = max(present.values())
    leaders = [m for m, a in present.items() if a == top]
    return leaders[0] if len(leaders) == 1 else None


def _temporal_bins(item: QAItem, chain: list[ClipTruth], mode: str) -> tuple[int, ...]:
    sizes = item.slot.get("scene_bins") or [item.bins or 1]
    out: set[int] = set()
    offset = 0
    for truth, size in zip(chain, sizes):
        out.update(offset + b for b in truth.bins(mode, size, item.bin_s))
        offset += size
    return tuple(sorted(out))


def gold_for(item: QAItem, truth: Truth, other: Truth | None = None,
             taxonomy: Taxonomy | None = None) -> Answer | None:
    """The gold answer of an item from where modes occur, or None where the truth does not decide it.

    `truth` is one ClipTruth for scene items, the chain's ClipTruths (in scene order) for drama
    items; pairwise items also take `other`, the truth of clip B. None when a mode the answer
    depends on is not controlled, or when a comparison ties. Temporal items whose label cannot be
    decided (some mode of the sub-dimension uncontrolled) keep their bins with `label=None`.
    """
    chain = _chain(item, truth)
    if item.format is Format.yes_no:
        (mode,) = item.modes
        if not _controls(chain, [mode]):
            return None
        return Answer.yes() if _amount(item, chain, mode) > 0 else Answer.no()
    if item.format is Format.pairwise:
        if other is None:
            raise ValueError(f"pairwise item {item.id} needs the truth of both clips")
        (mode,) = item.modes
        chain_b = _chain(item, other)
        if not (_controls(chain, [mode]) and _controls(chain_b, [mode])):
            return None
        a, b = _amount(item, chain, mode), _amount(item, chain_b, mode)
        return None if a == b else Answer(choices=("A",) if a > b else ("B",))
    if item.format in (Format.mcq_single, Format.mcq_multi):
        if not _controls(chain, item.modes):
            return None
        amounts = {m: _amount(item, chain, m) for m in item.modes}
        if item.format is Format.mcq_single:
            top = _dominant(amounts)
            return None if top is None else Answer(choices=(top,))
        present = tuple(m for m in item.modes if amounts[m] > 0)
        return Answer(choices=present or (NONE_OPTION,))
    if item.format is Format.temporal:
        (mode,) = item.modes
        if not _controls(chain, [mode]):
            return None
        bins = _temporal_bins(item, chain, mode)
        family = [o.mode for o in item.options if o.mode]
        label = _dominant({m: _amount(item, chain, m) for m in family}) if _controls(chain, family) else None
        return Answer(bins=bins, label=label)
    raise ValueError(f"unknown format {item.format!r}")


def gold_from_presence(item: QAItem, present: dict[str, list[tuple[float, float, float]]], *,
                       duration_s: float | None = None,
                       line_spans: Sequence[tuple[float, float]] = (), controlled_modes: Iterable[str] | None = None,
                       bins_s: float = BIN_S) -> Answer | None:
    """Gold of a scene item from {mode: [(start, end, severity)]}; every mode of the item is controlled unless told."""
    if bins_s != item.bin_s:
        raise ValueError(f"item {item.id} uses {item.bin_s} s bins, not {bins_s}")
    controlled = set(controlled_modes) if controlled_modes is not None else set(item.modes) | {
        o.mode for o in item.options if o.mode
    }
    ends = [e for spans in present.values() for _, e, _ in spans]
    truth = ClipTruth(
        duration_s=duration_s if duration_s is not None else max(ends, default=0.0), line_spans=tuple(line_spans), controlled_modes=frozenset(controlled),
        occurrences=tuple(Occurrence(mode=m, start=s, end=e, severity=v) for m, spans in present.items() for s, e, v in spans),
    )
    return gold_for(item, truth)
