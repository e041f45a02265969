"""The script-driven line aligner and the `turns` probe on synthetic speech-probability tracks (fast, offline).

The fused speech probability is set directly (speech where the test puts lines, silence elsewhere),
so these tests pin the aligner's dynamic programme and the probe's read-outs, not the detector.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from diagnosers.media import ClipMedia
from diagnosers.probes.align import align_lines, planned_durations, scripted_gaps
from diagnosers.probes.features import VAD_S
from diagnosers.probes.fitting import speech_labels
from diagnosers.probes.speech import turns
from scenes import load_suite

SCENE = load_suite("mini").scene("kitchen-quarrel")


def _media(spans: list[tuple[float, float] | None], duration: float) -> ClipMedia:
    n = int(duration / VAD_S)
    p = np.full(n, 0.05, np.float32)
    for sp in spans:
        if sp is not None:
            p[int(sp[0] / VAD_S): int(sp[1] / VAD_S)] = 0.95
    media = ClipMedia.from_arrays(np.zeros((int(duration * 5), 8, 8, 3), np.uint8), np.zeros(int(duration * 16000), np.float32), SCENE, fps=5.0)
    media._features["fused_speech_probs"] = p  # the detector's output, as the aligner reads it
    return media


def _layout(extra_before: dict[int, float] | None = None) -> tuple[list[list[float]], float]:
    """Lines at their predicted lengths with the script's gaps (plus extra silence before some lines)."""
    secs, gaps = planned_durations(_media([], 5.0)), scripted_gaps(_media([], 5.0))
    t, out = 0.0, []
    for i, (d, g) in enumerate(zip(secs, gaps)):
        t += g + (extra_before or {}).get(i, 0.0)
        out.append([t, t + d])
        t += d
    return out, t + 0.8


def _iou(a, b) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


def _speaker_change() -> int:
    return next(i for i in range(2, len(SCENE.lines)) if SCENE.lines[i].speaker != SCENE.lines[i - 1].speaker)


def test_lines_land_on_their_speech():
    spans, duration = _layout()
    aligned = align_lines(_media(spans, duration))
    assert [ls.index for ls in aligned] == list(range(len(SCENE.lines)))
    assert all(ls.found and _iou((ls.span.start, ls.span.end), sp) > 0.8 for ls, sp in zip(aligned, spans))


def test_dead_air_reads_as_late_reaction_only_on_its_line():
    k = _speaker_change()
    spans, duration = _layout({k: 3.0})
    scores = {s.mode: s for s in turns.fn(_media(spans, duration))}
    reaction = scores["ip.reaction_timing_failure"].lines
    assert reaction[k] > 2.0
    assert all(v < 0.5 for i, v in reaction.items() if i != k)


def _shifted(spans, k, shift):
    """The spans with line k and every later line moved `shift` seconds earlier."""
    return [sp if i < k else [sp[0] - shift, sp[1] - shift] for i, sp in enumerate(spans)]


def _turn_scores(spans, duration) -> dict[int, float]:
    return {s.mode: s for s in turns.fn(_media(spans, duration))}["ip.dialogue_turn_taking_failure"].lines


def test_overlap_reads_as_a_missing_pause():
    k = _speaker_change()
    spans, duration = _layout()
    shift = (spans[k][0] - spans[k - 1][1]) + 0.6  # line k starts 0.6 s before line k-1 ends
    turn, clean = _turn_scores(_shifted(spans, k, shift), duration - shift), _turn_scores(*_layout())
    assert turn[k] == max(turn.values())
    assert turn[k] > max(clean.values()) + 4.0  # most of a fault cost (6) more evidence than any clean turn


def test_a_silent_line_keeps_its_slot_and_reads_as_missing():
    k = 2
    spans, duration = _layout()
    heard = [None if i == k else sp for i, sp in enumerate(spans)]
    media = _media(heard, duration)
    aligned = align_lines(media)
    assert not aligned[k].found and _iou((aligned[k].slot.start, aligned[k].slot.end), spans[k]) > 0.6
    assert all(ls.found for ls in aligned if ls.index != k)
    scores = {s.mode: s for s in turns.fn(media)}
    for mode in ("sf.audio_dropout", "dp.dialogue_content_deviation"):
        lines = scores[mode].lines
        assert lines[k] == max(lines.values()) and lines[k] > 0.8


def test_a_muted_stretch_inside_a_line_reads_as_dropout():
    k = 2
    spans, duration = _layout()
    a, b = spans[k]
    heard = [sp for i, sp in enumerate(spans) if i != k] + [(a, a + 0.25 * (b - a)), (a + 0.75 * (b - a), b)]
    dropout = {s.mode: s for s in turns.fn(_media(heard, duration))}["sf.audio_dropout"].lines
    clean_spans, clean_duration = _layout()
    clean = {s.mode: s for s in turns.fn(_media(clean_spans, clean_duration))}["sf.audio_dropout"].lines
    assert dropout[k] == max(dropout.values()) and dropout[k] > 0.4
    assert max(clean.values()) < 0.2


def test_an_overlap_outscores_the_turns_beside_it():
    k = _speaker_change()
    spans, duration = _layout()
    shift = (spans[k][0] - spans[k - 1][1]) + 0.6
    for sp in spans[k:]:
        sp[0] -= shift
        sp[1] -= shift
    turn = {s.mode: s for s in turns.fn(_media(spans, duration - shift))}["ip.dialogue_turn_taking_failure"].lines
    assert all(turn[k] > v + 2.0 for i, v in turn.items() if i != k)


def test_speech_labels_leave_out_muted_and_silent_parts():
    line = lambda i, a, b: SimpleNamespace(index=i, start=a, end=b)
    fault = lambda name, line_, a, b: SimpleNamespace(fault=name, line=line_, start=a, end=b)
    manifest = SimpleNamespace(
        lines=[line(0, 1.0, 2.0), line(1, 2.4, 4.0), line(2, 4.4, 5.0)],
        faults=[fault("audio_dropout", 1, 2.8, 3.4), fault("dropped_line", 2, 4.4, 5.0), fault("cut_off_turn", 1, 2.4, 4.0)],
    )
    heard, seconds = speech_labels(manifest)
    assert heard == [(1.0, 2.0), (2.4, 2.8), (3.4, 4.0)]
    assert seconds == {1: pytest.approx(1.6), 2: pytest.approx(0.6)}  # line 0 was cut off by line 1


def test_a_cut_off_turn_outscores_every_other_turn():
    k = _speaker_change()
    spans, duration = _layout()
    kept = 0.55 * (spans[k - 1][1] - spans[k - 1][0])  # the renderer keeps 45-65 % of a cut-off line
    shift = spans[k][0] - (spans[k - 1][0] + kept + 0.03)  # line k starts 30 ms after the cut
    spans[k - 1][1] = spans[k - 1][0] + kept
    turn, clean = _turn_scores(_shifted(spans, k, shift), duration - shift), _turn_scores(*_layout())
    assert all(turn[k] > v + 2.0 for i, v in turn.items() if i != k)
    assert turn[k] > max(clean.values()) + 4.0
