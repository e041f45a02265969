"""Speech probes: turn timing, dropouts and missing lines from speech aligned to the script."""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.align import align_lines, scripted_gaps, turn_evidence
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.features import VAD_S
from diagnosers.probes.speech_model import fused_speech_probs

# dropout: silent-line evidence in aligner units per unit of unheard share (even odds -> 1.0). Swept on the fitting
# clips with the aligner of decision 180 (dropout AUC / BA of the fitted cut): 7 0.961 / 0.925, 10 0.960 / 0.932,
# 12 0.960 / 0.935, 14 0.968 / 0.935, 16 0.969 / 0.934, 20 0.965 / 0.924, 28 0.961 / 0.921 (decision 181)
SILENT_SCALE = 14.0
PAUSE_WEIGHT = 10.0  # turn-taking: aligner score units per second of missing pause (swept 0, 10, 20: AUC 0.91, 0.92, 0.93)
# dropout: the part of a line's slot read for unheard speech. The slot's edges carry the aligner's blur (a pause
# frame or two read as the line); a muted stretch inside a spoken line shows away from them. Swept on the fitting
# clips (decision 103): 0-100 % AUC 0.951, 20-90 % 0.952, 15-95 % 0.953, 20-80 % 0.947.
DROPOUT_PART = (0.15, 0.95)
# turn taking: a faulty turn squeezes its lines, so the next turn often reads glued too; a turn loses this share of
# how far a neighbouring turn reads more faulty than it (swept 0, 0.2, 0.3, 0.5: AUC 0.945, 0.947, 0.947, 0.945;
# on even / odd seeds alone 0.961 / 0.929 -> 0.964 / 0.931 at 0.3; dropping such turns outright lost 0.02, decision 088)
NEIGHBOUR_SHARE = 0.3


@probe("turns", ("ip.reaction_timing_failure", "ip.dialogue_turn_taking_failure", "sf.audio_dropout", "dp.dialogue_content_deviation"),
       sound_only=True)
def turns(media: ClipMedia) -> list[ModeScore]:
    """Line slots from the script-driven aligner (`align_lines`, decision 087) read against the script.

    Every line has a slot: its aligned span, or for a line the aligner found silent, the stretch
    the timing leaves for it. With p the fused speech probability per 32 ms frame:

    - reaction timing (lines after a speaker change): how much better the whole clip aligns when
      the turn into the line is a long silence than with any other kind of turn (max-marginals of
      the aligner's score, `turn_evidence`; aligner cost units, a fault cost is 6);
    - turn taking (same lines): the same evidence for no pause / an overlap / a cut-off previous
      line over a normal or long pause, plus `PAUSE_WEIGHT` × the seconds of scripted pause the
      aligned slots leave out, less `NEIGHBOUR_SHARE` × how far a neighbouring turn reads more
      faulty (a faulty turn makes the next one look glued too);
    - dialogue content deviation: how much better the clip aligns with the line silent in its
      slot than spoken (max-marginals, `turn_evidence`): a line that is not said;
    - audio dropout: the share of the line's slot (its inner `DROPOUT_PART`, away from the blurred
      edges) not heard as speech (p ≤ 0.5) — a muted stretch — or the silent-line evidence
      (1 + evidence / `SILENT_SCALE`), whichever is larger.
    On the fitting clips (procedural:sparse seeds 0-5) these read AUC 0.998, 0.970, 0.968 and 0.981
    (decisions 088, 103, 180, 181).
    """
    scene = media.scene
    spans = align_lines(media)
    gaps = scripted_gaps(media)
    p = fused_speech_probs(media)
    evidence = turn_evidence(media)
    reaction, turn, dropout, content = {}, {}, {}, {}
    windows_r, windows_t, windows_d, windows_c = [], [], [], []
    for ls in spans:
        i, slot = ls.index, ls.slot
        a, b = round(slot.start / VAD_S), max(round(slot.start / VAD_S) + 1, round(slot.end / VAD_S))
        inner = p[a + int(DROPOUT_PART[0] * (b - a)): a + max(int(DROPOUT_PART[0] * (b - a)) + 1, int(DROPOUT_PART[1] * (b - a)))]
        silent = float(np.clip(evidence[i]["silent"] - evidence[i]["spoken"], -50.0, 50.0))
        content[i] = silent
        if len(inner):
            dropout[i] = max(float(np.mean(inner <= 0.5)), 1.0 + silent / SILENT_SCALE)
            windows_d.append((slot.start, slot.end, dropout[i]))
        windows_c.append((slot.start, slot.end, content[i]))
        if i == 0 or scene.lines[i - 1].speaker == scene.lines[i].speaker:
            continue
        prev = spans[i - 1].slot
        missing = gaps[i] - (slot.start - prev.end)  # seconds of scripted pause not heard (negative: a longer pause)
        ev = evidence[i]
        reaction[i] = float(np.clip(ev["long"] - max(ev["normal"], ev["none"], ev["cut"]), -50.0, 50.0))
        turn[i] = float(np.clip(max(ev["none"], ev["cut"]) - max(ev["normal"], ev["long"]), -50.0, 50.0)) + PAUSE_WEIGHT * missing
        windows_r.append((min(prev.end, slot.start), max(prev.end, slot.start), reaction[i]))
        windows_t.append((min(prev.end, slot.start) - 0.5, max(prev.end, slot.start) + 0.5, i))
    raw = dict(turn)
    for i in turn:
        nb = max((raw[j] for j in (i - 1, i + 1) if j in raw), default=raw[i])
        turn[i] = raw[i] - NEIGHBOUR_SHARE * max(0.0, nb - raw[i])
    windows_t = [(a, b, turn[i]) for a, b, i in windows_t]
    return [
        ModeScore("ip.reaction_timing_failure", max(reaction.values()) if reaction else None, reaction, windows_r),
        ModeScore("ip.dialogue_turn_taking_failure", max(turn.values()) if turn else None, turn, windows_t),
        ModeScore("sf.audio_dropout", max(dropout.values()) if dropout else None, dropout, windows_d),
        ModeScore("dp.dialogue_content_deviation", max(content.values()) if content else None, content, windows_c),
    ]
