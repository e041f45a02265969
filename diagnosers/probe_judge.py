"""The `probes` judge: answers benchmark items from signal measurements of the clip and its script.

It uses only the media and the scene script: never a manifest's faults or timings. Every probe
runs once per clip (cached on the `ClipMedia`); each item then reads the scores it needs and
compares them with thresholds fitted from labelled clips (`diagnosers/probes/thresholds.json`).
Modes no probe measures are `abstained`, never guessed.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from diagnosers.base import Verdict, VerdictStatus, registry
from diagnosers.media import ClipMedia, MediaChain, MediaPair
from diagnosers.probe_threads import one_blas_thread, pool, probe_threads
from diagnosers.probes import (
    PROBES,
    THRESHOLDS,
    ModeScore,
    features,
    load_thresholds,
    measure_all,
    measured_modes,
)
from storage import ComponentSpec
from taxonomy.items import NONE_OPTION, Answer, Format, QAItem

VERSION = "1"
log = logging.getLogger(__name__)


class ProbeConfig(BaseModel):
    fps: float = Field(12.5, gt=0, le=30, description="frame rate the probes want the clip decoded at")
    width: int = Field(320, ge=64, le=1920)
    height: int = Field(180, ge=36, le=1080)
    luma_width: int | None = Field(640, ge=64, le=3840, description="keep each sampled frame's luma this wide (faces and mouths); None: not kept")
    thresholds: str | None = Field(None, description="thresholds JSON (default: the bundled fitted file)")
    tie_margin: float = Field(0.02, ge=0.0, description="pairwise: normalised score difference below which it abstains")
    abstain_when_drowned: bool = Field(
        True, description="abstain on the modes read from the dialogue's voice and the scripted sounds where the "
              "background overpowers them (decisions 175, 195)")
    abstain_when_grade_drifts: bool = Field(
        True, description="abstain on set changes where the grade drifts through the scene (decision 220)")


# Modes read from the sounds in front of the bed: the dialogue's voice (its presence, timing, level, pitch,
# identity, envelope), the scripted sound cues, and the multimodal mode (a face against the voice's
# flatness). Where the clip's background overpowers the dialogue (`sd.overpowering_background_audio`
# answered present) they are buried under it and these readings are guesses, so the judge abstains on
# them there (decisions 175, 195, 203).
HEARD_MODES = frozenset({
    "ip.reaction_timing_failure", "ip.dialogue_turn_taking_failure", "sf.audio_dropout", "dp.dialogue_content_deviation",
    "dp.speech_mode_confusion", "ep.vocal_emotional_delivery_failure", "dp.speaker_identity_error", "sf.lip_sync_offset",
    "sd.missing_scripted_sound", "ep.multimodal_expressive_inconsistency",
})
OVERPOWERING = "sd.overpowering_background_audio"
# A grade drifting through the scene (`mc.visual_mood_drift` answered present) moves the set's colours in every
# shot, and the set-change reading takes the least and most colour over each shot's frames: a set changed
# under it reads as small as an unchanged one (fitting clips: positives' median score 0.27 in drifting clips
# against 0.78 in the rest). There the judge abstains on set changes (decision 220).
GRADE_DRIFT = "mc.visual_mood_drift"
SET_CHANGES = "ec.scene_consistency_drift"


@dataclass(frozen=True)
class Gate:
    """Modes the judge abstains on (every format, with `reason` and the trigger's score under `evidence`)
    on a clip where it answers `trigger` present, while the `ProbeConfig` field `switch` is on."""

    trigger: str
    modes: frozenset[str]
    switch: str
    reason: str
    evidence: str


GATES = (
    Gate(OVERPOWERING, HEARD_MODES, "abstain_when_drowned",
         "the background overpowers the dialogue: the voice and the sound cues cannot be measured",
         "background_over_dialogue"),
    Gate(GRADE_DRIFT, frozenset({SET_CHANGES}), "abstain_when_grade_drifts",
         "the grade drifts through the scene: a set change cannot be told from it", "grade_drift"),
)


class ProbeJudge:
    """Signal-probe judge over `ClipMedia`, `MediaPair` (pairwise) and `MediaChain` (drama items)."""

    name = "probes"
    # answers are a function of the judge's version, config and the media: a stored abstention is settled
    deterministic = True

    def __init__(self, config: ProbeConfig, spec: ComponentSpec | None = None):
        self.config = config
        self.spec = spec or ComponentSpec("probes")
        path = config.thresholds or str(THRESHOLDS)
        self.thresholds = load_thresholds(path)
        self.version = f"{VERSION}+t{_digest(Path(path))}"  # new thresholds, models or probe code give new verdict keys
        self.measured = set(measured_modes()) & set(self.thresholds)
        one_blas_thread()

    def covers(self, item: QAItem) -> bool:
        """Whether a probe measures what the item asks; uncovered items are abstained without decoding."""
        option_modes = [o.mode for o in item.options if o.mode]
        if item.format is Format.mcq_single:
            return all(m in self.measured for m in option_modes)
        if item.format is Format.mcq_multi:
            return any(m in self.measured for m in option_modes)
        return item.modes[0] in self.measured

    @property
    def media_options(self) -> dict[str, Any]:
        """How callers should open clips for this judge: `ClipMedia.open(path, scene, **judge.media_options)`."""
        return {"fps": self.config.fps, "size": (self.config.width, self.config.height), "luma_width": self.config.luma_width}

    # decisions ------------------------------------------------------------------------------

    def _threshold(self, mode: str, line: bool = False) -> float:
        entry = self.thresholds[mode]
        return float(entry.get("line_threshold", entry["threshold"]) if line else entry["threshold"])

    def _margin(self, mode: str, score: float, line: bool = False) -> float:
        """Score above threshold in units of the mode's spread, comparable across modes."""
        entry = self.thresholds[mode]
        scale = float(entry.get("scale") or (abs(entry["threshold"]) + 1.0))
        return (score - self._threshold(mode, line)) / scale

    def _scores(self, media: ClipMedia, modes: set[str]) -> dict[str, ModeScore]:
        # a probe reports all its modes; only those with a fitted threshold count (the rest abstain)
        wanted = modes & self.measured
        scores = {m: s for m, s in measure_all(media, wanted).items() if m in self.measured}
        for gate in GATES:
            gated = wanted & gate.modes
            trigger = self._present_score(media, gate.trigger) if gated and getattr(self.config, gate.switch) else None
            if trigger is not None:  # nothing measured: every format then abstains with this reason
                detail = {"reason": gate.reason, gate.evidence: trigger}
                scores.update({m: ModeScore(m, None, detail=detail) for m in gated})
        return scores

    def _present_score(self, media: ClipMedia, mode: str) -> float | None:
        """`mode`'s score when the judge answers it present on the clip, else None (also when not measured)."""
        if mode not in self.measured:
            return None
        ms = measure_all(media, {mode}).get(mode)
        present = ms is not None and ms.score is not None and ms.score > self._threshold(mode)
        return ms.score if present else None

    def _present(self, mode: str, ms: ModeScore, slot: dict[str, Any]) -> tuple[bool | None, float | None]:
        if "line" in slot:
            s = ms.line_score(int(slot["line"]))
            return (None, None) if s is None else (s > self._threshold(mode, True), s)
        if ms.score is None:
            return None, None
        return ms.score > self._threshold(mode), ms.score

    # per format -----------------------------------------------------------------------------

    def _clip_answer(self, media: ClipMedia, item: QAItem) -> tuple[Answer | None, dict[str, Any]]:
        fmt = item.format
        if fmt is Format.yes_no:
            mode = item.modes[0]
            if mode not in self.measured:
                return None, {"reason": f"no probe measures {mode}"}
            ms = self._scores(media, {mode})[mode]
            present, score = self._present(mode, ms, item.slot)
            if present is None:
                return None, {"reason": "nothing to measure on this clip", **ms.detail}
            return (Answer.yes() if present else Answer.no()), {"score": score, "threshold": self._threshold(mode, "line" in item.slot), "windows": ms.windows[:8]}
        if fmt is Format.temporal:
            mode = item.modes[0]
            if mode not in self.measured:
                return None, {"reason": f"no probe measures {mode}"}
            option_modes = {o.mode for o in item.options if o.mode}
            scores = self._scores(media, (option_modes | {mode}) & self.measured)
            ms = scores[mode]
            if ms.score is None:
                return None, {"reason": "nothing to measure on this clip", **ms.detail}
            bins = self._bins(mode, ms, item, offset=0.0)
            return Answer(bins=bins, label=self._primary(scores, item)), {"score": ms.score, "windows": ms.windows[:8]}
        if fmt in (Format.mcq_multi, Format.mcq_single):
            option_modes = [o.mode for o in item.options if o.mode]
            covered = [m for m in option_modes if m in self.measured]
            scores = self._scores(media, set(covered))
            flagged = [m for m in covered if scores[m].score is not None and scores[m].score > self._threshold(m)]
            unmeasured = [m for m in option_modes if m not in self.measured or scores.get(m, ModeScore(m, None)).score is None]
            if fmt is Format.mcq_single:
                if unmeasured:
                    return None, {"reason": "single choice needs every option measured", "unmeasured": unmeasured}
                return Answer(choices=(self._primary(scores, item),)), {"flagged": flagged}
            if flagged:
                return Answer(choices=tuple(self._option_id(item, m) for m in flagged)), {"flagged": flagged, "unmeasured": unmeasured}
            if unmeasured:
                return None, {"reason": "no measured option is present; unmeasured options may be", "unmeasured": unmeasured}
            return Answer(choices=(NONE_OPTION,)), {"flagged": []}
        return None, {"reason": f"{fmt.value} items need a MediaPair"}

    @staticmethod
    def _option_id(item: QAItem, mode: str) -> str:
        for o in item.options:
            if o.mode == mode:
                return o.id
        return mode

    def _primary(self, scores: dict[str, ModeScore], item: QAItem) -> str:
        best, best_margin = NONE_OPTION, 0.0
        for o in item.options:
            ms = scores.get(o.mode or "")
            if ms is None or ms.score is None:
                continue
            margin = self._margin(o.mode, ms.score)
            if margin > best_margin:
                best, best_margin = o.id, margin
        return best

    def _bins(self, mode: str, ms: ModeScore, item: QAItem, offset: float) -> tuple[int, ...]:
        n = item.bins or 1
        thr = self._threshold(mode)
        out: set[int] = set()
        for start, end, score in ms.windows:
            if score is None or score <= thr:
                continue
            a = int(max(0.0, start + offset) // item.bin_s)
            b = int(max(0.0, end + offset - 1e-6) // item.bin_s)
            out.update(min(k, n - 1) for k in range(a, b + 1))  # gold clamps late times to the last bin too
        return tuple(sorted(out))

    def _pair_answer(self, pair: MediaPair, item: QAItem) -> tuple[Answer | None, dict[str, Any]]:
        mode = item.modes[0]
        if mode not in self.measured:
            return None, {"reason": f"no probe measures {mode}"}
        sa = self._scores(pair.a, {mode})[mode].score
        sb = self._scores(pair.b, {mode})[mode].score
        if sa is None or sb is None:
            return None, {"reason": "nothing to measure on one of the clips"}
        ma, mb = self._margin(mode, sa), self._margin(mode, sb)
        if abs(ma - mb) < self.config.tie_margin:
            return None, {"reason": "the clips score alike", "A": sa, "B": sb}
        return Answer(choices=("A" if ma > mb else "B",)), {"A": sa, "B": sb}

    def _chain_answer(self, chain: MediaChain, item: QAItem) -> tuple[Answer | None, dict[str, Any]]:
        """Drama items: a mode is present in the chain when a clip (or the clip after a boundary) shows it."""
        mode = item.modes[0] if item.format in (Format.yes_no, Format.temporal) else None
        clips = list(chain.scenes)
        if "boundary" in item.slot:
            k = int(item.slot["boundary"])
            clips = clips[k + 1: k + 2]
        if item.format is Format.yes_no:
            if mode not in self.measured:
                return None, {"reason": f"no probe measures {mode}"}
            results = [self._present(mode, self._scores(c, {mode})[mode], {}) for c in clips]
            known = [r for r in results if r[0] is not None]
            if not known:
                return None, {"reason": "nothing to measure in these clips"}
            return (Answer.yes() if any(r[0] for r in known) else Answer.no()), {"scores": [r[1] for r in results]}
        if item.format is Format.temporal:
            if mode not in self.measured:
                return None, {"reason": f"no probe measures {mode}"}
            scene_bins = item.slot.get("scene_bins") or []
            bins: set[int] = set()
            best, best_margin = NONE_OPTION, 0.0
            start_bin = 0
            for k, clip in enumerate(chain.scenes):
                ms = self._scores(clip, {mode})[mode]
                if ms.score is not None:
                    local = self._bins(mode, ms, item.model_copy(update={"bins": scene_bins[k] if k < len(scene_bins) else item.bins}), 0.0)
                    bins.update(start_bin + b for b in local)
                    scores = self._scores(clip, {o.mode for o in item.options if o.mode} & self.measured)
                    label = self._primary(scores, item)
                    if label != NONE_OPTION:
                        opt = next(o for o in item.options if o.id == label)
                        margin = self._margin(opt.mode, scores[opt.mode].score)
                        if margin > best_margin:
                            best, best_margin = label, margin
                start_bin += scene_bins[k] if k < len(scene_bins) else 0
            return Answer(bins=tuple(sorted(b for b in bins if b < (item.bins or 0))), label=best), {}
        if item.format in (Format.mcq_multi, Format.mcq_single):
            answers = [self._clip_answer(c, item) for c in clips]
            if any(a is None for a, _ in answers):
                return None, {"reason": "some clip could not be answered", "details": [e for _, e in answers]}
            if item.format is Format.mcq_multi:
                chosen = sorted({c for a, _ in answers for c in a.choices if c != NONE_OPTION})
                return Answer(choices=tuple(chosen) or (NONE_OPTION,)), {}
            picks = [a.choices[0] for a, _ in answers if a.choices[0] != NONE_OPTION]
            return Answer(choices=(picks[0] if picks else NONE_OPTION,)), {}
        return None, {"reason": f"drama {item.format.value} items are not measured by probes"}

    # performance --------------------------------------------------------------------------

    def _prefetch(self, media: ClipMedia, items: Sequence[QAItem]) -> None:
        """Run the probes these items need on a few threads before the items read them (decision 102).

        Only the order and the threads change: every probe and feature is still computed once per
        clip through `media.feature`, so the answers are those of the sequential path. Two lanes
        start first, the sound (decode, silero, then the probes and features that read only the sound:
        decision 223) and the picture (decode, luma, statistics), so that the two halves of the clip
        are decoded and measured side by side; then the other probes.
        A failure is left for the item that needs it to meet (and report) again.
        """
        threads = probe_threads()
        if threads < 2:
            return
        modes: set[str] = set()
        for item in items:
            if item.format is not Format.pairwise and self.covers(item):
                modes.update(m for m in item.modes if m)
                modes.update(o.mode for o in item.options if o.mode)
        modes &= self.measured
        wanted = [p for p in PROBES if modes.intersection(p.modes)]
        if not wanted:
            return

        def attempt(task: Callable[[], Any]) -> None:
            try:
                task()
            except Exception as exc:  # noqa: BLE001 - the item that needs it gets the error verdict
                log.debug("probe prefetch on %s failed: %s", media, exc)

        def sound_lane() -> None:
            # while the other lane decodes the picture: what needs only the sound (decision 223)
            attempt(lambda: features.speech_probs(media))
            for p in wanted:
                attempt(lambda p=p: p.measure_sound(media))

        tasks: list[Callable[[], Any]] = [sound_lane, lambda: features.picture_stats(media)]
        tasks += [(lambda p=p: p.measure(media)) for p in wanted if not p.sound_only]
        list(pool(threads).map(attempt, tasks))

    # protocol -------------------------------------------------------------------------------

    def answer(self, media: Any, items: Sequence[QAItem]) -> list[Verdict]:
        out = []
        if isinstance(media, ClipMedia) and len(items) > 1:
            self._prefetch(media, items)
        for item in items:
            started = time.perf_counter()
            try:
                if isinstance(media, MediaPair):
                    if item.format is not Format.pairwise:
                        answer, evidence = None, {"reason": "only pairwise items are asked of a pair"}
                    else:
                        answer, evidence = self._pair_answer(media, item)
                elif isinstance(media, MediaChain):
                    answer, evidence = self._chain_answer(media, item)
                else:
                    answer, evidence = self._clip_answer(media, item)
                status = VerdictStatus.answered if answer is not None else VerdictStatus.abstained
                verdict = Verdict(item_id=item.id, judge=self.spec.label, judge_version=self.version, status=status,
                                  answer=answer, evidence=_jsonable(evidence), elapsed_s=time.perf_counter() - started)
            except Exception as exc:  # a probe crash on one clip is an error verdict, retried next run
                verdict = Verdict(item_id=item.id, judge=self.spec.label, judge_version=self.version,
                                  status=VerdictStatus.error, error=f"{type(exc).__name__}: {exc}",
                                  elapsed_s=time.perf_counter() - started)
            out.append(verdict)
        return out


def _digest(thresholds: Path) -> str:
    """Hash of the thresholds file, this judge's and the probes' code and the fitted models: what answers depend on."""
    h = hashlib.sha256(thresholds.read_bytes())
    here = Path(__file__)
    code = [here, here.with_name("media.py"), here.with_name("decode.py")]
    for f in [*code, *sorted(THRESHOLDS.parent.glob("*.py")), *sorted(THRESHOLDS.parent.glob("*.json"))]:
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:8]


_PLAIN = frozenset({str, int, bool, type(None)})


def _jsonable(obj: Any) -> Any:
    """Evidence as JSON values: the common exact types first (a clip's ~170 verdicts carry thousands)."""
    kind = type(obj)
    if kind is float:
        return float(f"{obj:.6g}")  # significant digits: some scores (spectral flatness) are tiny
    if kind is dict:
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if kind is list or kind is tuple:
        return [_jsonable(v) for v in obj]
    if kind in _PLAIN:
        return obj
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, float):
        return float(f"{obj:.6g}")
    return obj


@registry.register("probes", ProbeConfig, presets={"default": {}, "fast": {"fps": 6.25}}, summary="signal probes over picture and sound")
def build_probes(config: ProbeConfig, spec: ComponentSpec | None = None, **_: Any) -> ProbeJudge:
    return ProbeJudge(config, spec)
