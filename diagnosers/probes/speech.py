"""Speech probes: turn timing, dropouts, delivery level and prosody, voice identity per line."""

from __future__ import annotations

import math

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.align import align_lines, planned_durations
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.features import (
    HOP_S,
    Span,
    embed_spans,
    pitch_track,
    rms_db,
    spectral_frames,
)
from scenes.vocabulary import EMOTION_AFFECT, Delivery

MISSING_LINE_SCORE = 3.0  # a line with no speech at all scores as a 3-second dropout


@probe("turns", ("ip.reaction_timing_failure", "ip.dialogue_turn_taking_failure", "sf.audio_dropout", "dp.dialogue_content_deviation"))
def turns(media: ClipMedia) -> list[ModeScore]:
    """Speech activity (silero-vad) aligned to the script's line order.

    - reaction timing: silence before a reply, minus the scripted pause (seconds of dead air);
    - turn taking: overlap or a cut-off previous turn (no silence between turns, or the previous
      line much shorter than planned relative to the clip's speaking rate);
    - audio dropout: the longest stretch inside a line's span where the level falls 25 dB under the
      line's median (speech cut out), or a line with no speech at all;
    - dialogue content deviation: a line with no speech, or much shorter than its planned share
      of the clip's speaking time (-log of measured over planned duration).
    """
    scene = media.scene
    spans = align_lines(media)
    expected = planned_durations(media)
    found = [s for s in spans if s.span is not None]
    scale = (sum(s.span.duration for s in found) / max(1e-6, sum(expected[s.index] for s in found))) if found else 1.0
    db = rms_db(media)
    reaction, turn, dropout, content = {}, {}, {}, {}
    windows_r, windows_t, windows_d = [], [], []
    for ls in spans:
        i = ls.index
        line = scene.lines[i]
        if ls.span is None:
            dropout[i] = MISSING_LINE_SCORE
            content[i] = MISSING_LINE_SCORE
            continue
        content[i] = -math.log(max(ls.span.duration, 0.05) / max(scale * expected[i], 0.05))
        # dropout: longest low-energy run inside the line (20 ms frames)
        a, b = int(ls.span.start / HOP_S), int(ls.span.end / HOP_S)
        seg = db[a:b]
        if len(seg) > 5:
            floor = np.median(seg) - 25.0
            low = seg < floor
            best = run = 0
            best_end = 0
            for k, flag in enumerate(low):
                run = run + 1 if flag else 0
                if run > best:
                    best, best_end = run, k
            dropout[i] = best * HOP_S
            if best:
                end_t = ls.span.start + (best_end + 1) * HOP_S
                windows_d.append((end_t - best * HOP_S, end_t, best * HOP_S))
        else:
            dropout[i] = 0.0
        if i == 0:
            continue
        prev = spans[i - 1]
        if prev.span is None or scene.lines[i - 1].speaker == line.speaker:
            continue
        gap = ls.span.start - prev.span.end
        reaction[i] = gap - line.pause_before_s
        windows_r.append((prev.span.end, ls.span.start, reaction[i]))
        shortfall = -math.log(max(prev.span.duration, 0.05) / max(scale * expected[i - 1], 0.05))
        overlap = 1.0 if (ls.shared or gap < 0.06) else 0.0
        turn[i] = max(overlap, shortfall)
        windows_t.append((prev.span.end - 0.5, ls.span.start + 0.5, turn[i]))
    return [
        ModeScore("ip.reaction_timing_failure", max(reaction.values()) if reaction else None, reaction, windows_r),
        ModeScore("ip.dialogue_turn_taking_failure", max(turn.values()) if turn else None, turn, windows_t),
        ModeScore("sf.audio_dropout", max(dropout.values()) if dropout else None, dropout, windows_d),
        ModeScore("dp.dialogue_content_deviation", max(content.values()) if content else None, content,
                  [(s.span.start, s.span.end, content[s.index]) for s in spans if s.span is not None]),
    ]


def _line_levels(media: ClipMedia) -> dict[int, tuple[float, float, float]]:
    """Per found line: (level dB at the 70th percentile, high/low band ratio dB, voiced share)."""

    def compute(m: ClipMedia) -> dict[int, tuple[float, float, float]]:
        spec, freqs = spectral_frames(m)
        hi_band, lo_band = freqs >= 3000, (freqs >= 100) & (freqs < 1000)
        out = {}
        for ls in align_lines(m):
            if ls.span is None:
                continue
            a, b = int(ls.span.start / HOP_S), max(int(ls.span.start / HOP_S) + 1, int(ls.span.end / HOP_S))
            db = rms_db(m)[a:b]
            s = spec[a:b]
            tilt = 10 * math.log10((s[:, hi_band] ** 2).sum() + 1e-9) - 10 * math.log10((s[:, lo_band] ** 2).sum() + 1e-9)
            f0 = _pitch(m, ls.span)
            voiced = float(np.mean(~np.isnan(f0))) if len(f0) else 0.0
            out[ls.index] = (float(np.percentile(db, 70)), tilt, voiced)
        return out

    return media.feature("line_levels", compute)


def _pitch(media: ClipMedia, span: Span) -> np.ndarray:
    return media.feature(f"pitch:{span.start:.3f}:{span.end:.3f}", lambda m: pitch_track(m, span.start, span.end))


# Where each delivery sits in (level relative to the clip's median line, high/low tilt dB, voiced share).
DELIVERY_CENTRES = {
    Delivery.whisper: (-14.0, 6.0, 0.15),
    Delivery.normal: (0.0, -12.0, 0.6),
    Delivery.voice_over: (0.0, -12.0, 0.6),
    Delivery.shout: (7.0, -6.0, 0.7),
}
DELIVERY_SCALE = (5.0, 8.0, 0.25)


@probe("delivery", ("dp.speech_mode_confusion", "ep.vocal_emotional_delivery_failure"))
def delivery(media: ClipMedia) -> list[ModeScore]:
    """Per-line level, spectral tilt and voicing against the scripted delivery; pitch range against emotion.

    - speech mode confusion: distance of the line's (relative level, tilt, voiced share) to the
      scripted delivery's centre minus the distance to the nearest other delivery's centre
      (positive: the line sounds like another delivery, e.g. a whisper where a shout is scripted);
    - vocal emotional delivery failure: the line's pitch spread (semitones, std of voiced F0) and
      level spread under what its emotion's arousal asks for (flat delivery of an agitated line).
    """
    scene = media.scene
    levels = _line_levels(media)
    if not levels:
        return [ModeScore("dp.speech_mode_confusion", None), ModeScore("ep.vocal_emotional_delivery_failure", None)]
    ref = float(np.median([v[0] for i, v in levels.items() if scene.lines[i].delivery in (Delivery.normal, Delivery.voice_over)] or [np.median([v[0] for v in levels.values()])]))
    mode_scores, vocal = {}, {}
    windows_m, windows_v = [], []
    spans = {ls.index: ls.span for ls in align_lines(media) if ls.span is not None}
    for i, (lvl, tilt, voiced) in levels.items():
        x = np.array([lvl - ref, tilt, voiced]) / np.array(DELIVERY_SCALE)
        dist = {d: float(np.linalg.norm(x - np.array(c) / np.array(DELIVERY_SCALE))) for d, c in DELIVERY_CENTRES.items()}
        scripted = scene.lines[i].delivery
        others = [v for d, v in dist.items() if d not in (scripted,) and {d, scripted} != {Delivery.normal, Delivery.voice_over}]
        mode_scores[i] = dist[scripted] - min(others)
        windows_m.append((spans[i].start, spans[i].end, mode_scores[i]))
        f0 = _pitch(media, spans[i])
        f0 = f0[~np.isnan(f0)]
        st = float(np.std(12 * np.log2(f0 / np.median(f0)))) if len(f0) > 5 else 0.0
        arousal = EMOTION_AFFECT[scene.lines[i].emotion][1]
        vocal[i] = 1.0 + 3.0 * arousal - st
        windows_v.append((spans[i].start, spans[i].end, vocal[i]))
    return [
        ModeScore("dp.speech_mode_confusion", max(mode_scores.values()), mode_scores, windows_m),
        ModeScore("ep.vocal_emotional_delivery_failure", max(vocal.values()), vocal, windows_v),
    ]


def line_embeddings(media: ClipMedia) -> dict[int, np.ndarray]:
    """Resemblyzer embedding per found line (lines under 0.4 s are left out)."""

    def compute(m: ClipMedia) -> dict[int, np.ndarray]:
        found = [ls for ls in align_lines(m) if ls.span is not None]
        vecs = embed_spans(m, [ls.span for ls in found])
        return {ls.index: v for ls, v in zip(found, vecs) if v is not None}

    return media.feature("line_embeddings", compute)


@probe("voices", ("dp.speaker_identity_error",))
def voices(media: ClipMedia) -> list[ModeScore]:
    """Voice identity per line (Resemblyzer embeddings) matched to the scripted speakers.

    - speaker identity error: for each line, the best cosine similarity to another character's
      other lines minus the similarity to the scripted speaker's other lines (positive: the line
      sounds like someone else);
    - character continuity (voice): for each character, 1 minus the lowest similarity between two
      of their lines (a voice swap mid-scene splits a character's lines into two voices).
    """
    scene = media.scene
    emb = line_embeddings(media)
    by_speaker: dict[str, list[int]] = {}
    for i in emb:
        by_speaker.setdefault(scene.lines[i].speaker, []).append(i)
    spans = {ls.index: ls.span for ls in align_lines(media) if ls.span is not None}
    identity, windows_i = {}, []
    for i, vec in emb.items():
        me = scene.lines[i].speaker
        own = [float(vec @ emb[j]) for j in by_speaker[me] if j != i]
        other = [float(vec @ emb[j]) for s, js in by_speaker.items() if s != me for j in js]
        if not own or not other:
            continue
        identity[i] = max(other) - float(np.median(own))
        windows_i.append((spans[i].start, spans[i].end, identity[i]))
    continuity, windows_c = 0.0, []
    for speaker, js in by_speaker.items():
        if len(js) < 2:
            continue
        sims = [(float(emb[a] @ emb[b]), a, b) for k, a in enumerate(js) for b in js[k + 1:]]
        low, a, b = min(sims)
        if 1 - low > continuity:
            continuity = 1 - low
            windows_c = [(spans[b].start, spans[b].end, 1 - low)]
    has_pairs = any(len(js) >= 2 for js in by_speaker.values())
    return [
        ModeScore("dp.speaker_identity_error", max(identity.values()) if identity else None, identity, windows_i),
        # the staging probe combines this with the look evidence into the reported score
        ModeScore("ct.character_continuity_break", continuity if has_pairs else None, {}, windows_c),
    ]
