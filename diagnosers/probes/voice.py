"""Voice probes: speech level over the background and prosody per line (decision 089), voice identity
per line against the characters in the line's shot (Resemblyzer; decision 090)."""

from __future__ import annotations

import math

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.align import align_lines
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.features import (
    HOP_S,
    Span,
    embed_spans,
    pitch_track,
    spectral_frames,
)
from scenes.vocabulary import EMOTION_AFFECT, Delivery

BAND_HZ = (200.0, 4000.0)  # speech band of the level measure
TILT_HI_HZ, TILT_LO_HZ = (2000.0, 6000.0), (200.0, 1500.0)
BED_FACTOR = 2.0  # subtract twice the median background power per bin (the bed fluctuates around its median)


def line_speech_levels(media: ClipMedia) -> dict[int, tuple[float, float]]:
    """Per found line: (speech level dB over the background, spectral tilt dB of that speech).

    The background (music, ambience) is the median power per frequency bin of the frames outside
    every aligned line (the quietest fifth of the frames when lines cover nearly everything); it is
    subtracted (twice over) from each line's frames, so a whisper under a bed reads as little speech
    instead of the bed's level. Level: mean of the louder half of the line's frames of the cleaned
    power in 200-4000 Hz; tilt: cleaned power above 2 kHz over 200-1500 Hz.
    """

    def compute(m: ClipMedia) -> dict[int, tuple[float, float]]:
        spec, freqs = spectral_frames(m)
        power = spec.astype(np.float64) ** 2
        found = [ls for ls in align_lines(m) if ls.span is not None]
        outside = np.ones(len(power), bool)
        for ls in found:
            outside[max(0, int(ls.span.start / HOP_S) - 5): int(ls.span.end / HOP_S) + 5] = False
        if outside.sum() >= 20:
            bed = np.median(power[outside], axis=0)
        else:
            quiet = np.argsort(power.sum(axis=1))[: max(1, len(power) // 5)]
            bed = np.median(power[quiet], axis=0)
        band = (freqs >= BAND_HZ[0]) & (freqs < BAND_HZ[1])
        hi = (freqs >= TILT_HI_HZ[0]) & (freqs < TILT_HI_HZ[1])
        lo = (freqs >= TILT_LO_HZ[0]) & (freqs < TILT_LO_HZ[1])
        out = {}
        for ls in found:
            a = int(ls.span.start / HOP_S)
            b = max(a + 1, int(ls.span.end / HOP_S))
            clean = np.maximum(power[a:b] - BED_FACTOR * bed, 0.0)
            if not len(clean):
                continue
            e = np.sort(clean[:, band].sum(axis=1))
            level = 10 * math.log10(float(e[len(e) // 2:].mean()) + 1e-10)
            tilt = 10 * math.log10(float(clean[:, hi].sum()) + 1e-10) - 10 * math.log10(float(clean[:, lo].sum()) + 1e-10)
            out[ls.index] = (level, tilt)
        return out

    return media.feature("voice:line_speech_levels", compute)


def _pitch(media: ClipMedia, span: Span) -> np.ndarray:
    return media.feature(f"pitch:{span.start:.3f}:{span.end:.3f}", lambda m: pitch_track(m, span.start, span.end))


# Per scripted delivery: (level re the clip's normal speech dB, tilt dB) as delivered, and as the
# confused delivery reads (normal -> whisper, shout -> whisper, whisper -> shout). Read from the
# fitting clips (sparse seeds 0-2, true line spans): normal lines 0 dB (5-95 %: -2..+3), whispered
# normal lines -13 dB; shouts +8 dB, whispered shouts -4 dB; whispers -6 dB (wide: -16..+5),
# shouted whispers +13 dB. Tilt: normal -9, whispered -2; shout -8, whispered -1.5; whisper -1, shouted -5.
DELIVERY_LEVELS = {
    Delivery.normal: ((0.0, -13.0), (-9.0, -2.0)),
    Delivery.voice_over: ((0.0, -13.0), (-9.0, -2.0)),
    Delivery.shout: ((8.0, -4.0), (-8.0, -1.5)),
    Delivery.whisper: ((-6.0, 13.0), (-1.0, -5.0)),
}
LEVEL_WEIGHT = 0.85  # level carries most of the evidence (fitting clips, aligned spans: AUC 0.89 alone, tilt 0.82, 0.91 mixed 0.75-0.9)
# Silence is not a whisper (decision 104): a line whose span holds little speech (mean speech
# probability under SILENT_SPEECH) loses SILENT_PENALTY per unit under it. Fitting clips (sparse seeds
# 0-2): lines whispered by a fault read 0.55-1.0 (one 0.32), dropped or muted lines 0.02-0.99
# (half under 0.5), and they were the top false alarms (a silent slot reads like a whisper).
SILENT_SPEECH, SILENT_PENALTY = 0.5, 2.0


def delivery_mode_scores(media: ClipMedia) -> dict[int, float]:
    """Per found line: where its speech level and tilt sit between the scripted delivery (0) and the
    confused one (1). The clip's reference level is the median over lines of level minus the scripted
    delivery's expected offset, so scenes without normal lines still have an anchor. A span with little
    speech in it (a dropped line's silent slot) is pulled down: silence is not a whisper."""
    scene = media.scene
    levels = line_speech_levels(media)
    if not levels:
        return {}
    ref = float(np.median([lv - DELIVERY_LEVELS[scene.lines[i].delivery][0][0] for i, (lv, _) in levels.items()]))
    speech = {ls.index: ls.speech for ls in align_lines(media)}
    out = {}
    for i, (lv, tilt) in levels.items():
        (l_ok, l_bad), (t_ok, t_bad) = DELIVERY_LEVELS[scene.lines[i].delivery]
        s_level = (lv - ref - l_ok) / (l_bad - l_ok)
        s_tilt = (tilt - t_ok) / (t_bad - t_ok)
        silent = SILENT_PENALTY * max(0.0, SILENT_SPEECH - speech.get(i, 1.0))
        out[i] = LEVEL_WEIGHT * s_level + (1 - LEVEL_WEIGHT) * s_tilt - silent
    return out


@probe("delivery", ("dp.speech_mode_confusion", "ep.vocal_emotional_delivery_failure"))
def delivery(media: ClipMedia) -> list[ModeScore]:
    """Per-line speech level and spectral tilt against the scripted delivery; pitch range against emotion.

    - speech mode confusion: the line's speech level over the background (bed subtracted, relative to
      the clip's reference) and tilt, placed on the line from the scripted delivery's usual reading
      (0) to the confused delivery's (1): a whisper where a shout or normal speech is scripted reads
      ~1, a shout where a whisper is scripted too (`delivery_mode_scores`);
    - vocal emotional delivery failure: see `flat_scores`.
    """
    modes = delivery_mode_scores(media)
    if not modes:
        return [ModeScore("dp.speech_mode_confusion", None), ModeScore("ep.vocal_emotional_delivery_failure", None)]
    spans = {ls.index: ls.span for ls in align_lines(media) if ls.span is not None}
    windows_m = [(spans[i].start, spans[i].end, s) for i, s in modes.items()]
    vocal = flat_scores(media)
    windows_v = [(spans[i].start, spans[i].end, s) for i, s in vocal.items()]
    return [
        ModeScore("dp.speech_mode_confusion", max(modes.values()), modes, windows_m),
        ModeScore("ep.vocal_emotional_delivery_failure", max(vocal.values()) if vocal else None, vocal, windows_v),
    ]


def flat_scores(media: ClipMedia) -> dict[int, float]:
    """Per found line: pitch spread (semitones, std of voiced F0) under what its emotion's arousal asks for."""
    scene = media.scene
    out = {}
    for ls in align_lines(media):
        if ls.span is None:
            continue
        f0 = _pitch(media, ls.span)
        f0 = f0[~np.isnan(f0)]
        st = float(np.std(12 * np.log2(f0 / np.median(f0)))) if len(f0) > 5 else 0.0
        arousal = EMOTION_AFFECT[scene.lines[ls.index].emotion][1]
        out[ls.index] = 1.0 + 3.0 * arousal - st
    return out


def line_embeddings(media: ClipMedia) -> dict[int, np.ndarray]:
    """Resemblyzer embedding per found line (lines under 0.4 s are left out)."""

    def compute(m: ClipMedia) -> dict[int, np.ndarray]:
        found = [ls for ls in align_lines(m) if ls.span is not None]
        vecs = embed_spans(m, [ls.span for ls in found])
        return {ls.index: v for ls, v in zip(found, vecs) if v is not None}

    return media.feature("line_embeddings", compute)


NO_OTHER_VISIBLE = -1.0  # below any similarity difference a visible other character gives (fitting clips: -0.5..0.4)
# A line voiced by another visible character comes with that character's mouth moving, not the
# speaker's (decision 104). Mouth evidence: the largest mouth-opening spread (std over the line's
# face samples) of another face in the shot minus the speaker's, on lines whose shot shows as many
# faces as it has subjects (matched left to right in stage order, as the `faces` probe does).
# Fitting clips (sparse seeds 0-2): wrong-voice lines read -0.08..0.18 (median 0.02), other lines
# median 0, 95th percentile 0.06. Added with weight MOUTH_WEIGHT (swept 0.5-8: line AUC 0.937-0.947,
# best at 2; a 0.1 spread difference then weighs 0.2, a typical voice margin of a wrong voice).
MOUTH_WEIGHT = 2.0


def mouth_evidence(media: ClipMedia) -> dict[int, float]:
    """Per on-screen line with every subject's face found: another face's mouth spread minus the speaker's."""

    def compute(m: ClipMedia) -> dict[int, float]:
        from diagnosers.probes.faces import face_tracks, line_windows, stage_order

        scene = m.scene
        tracks = face_tracks(m)
        order = {c: k for k, c in enumerate(stage_order(scene))}
        out: dict[int, float] = {}
        for i, (s, e) in line_windows(m).items():
            try:
                shot = scene.shots[scene.shot_of_line(i)]
            except KeyError:
                continue
            me = scene.lines[i].speaker
            if me not in shot.subjects or len(shot.subjects) < 2 or shot.angle.value == "over_shoulder":
                continue
            present = [tr.between(s, e) for tr in tracks]
            most = max((len(fs) for fs in present), default=0)
            present = [fs for fs in present if len(fs) >= max(2, 0.5 * most)]
            if len(present) != len(shot.subjects):
                continue
            facing = sorted(shot.subjects, key=lambda c: order.get(c, 99))
            by_x = sorted(present, key=lambda fs: float(np.median([f.x for f in fs])))
            spread = {c: float(np.std([f.mouth for f in fs])) for c, fs in zip(facing, by_x)}
            out[i] = max(v for c, v in spread.items() if c != me) - spread[me]
        return out

    return media.feature("voice:mouth_evidence", compute)


@probe("voices", ("dp.speaker_identity_error",))
def voices(media: ClipMedia) -> list[ModeScore]:
    """Voice identity per line (Resemblyzer embeddings) matched to the scripted speakers.

    - speaker identity error: for each line, the best mean cosine similarity to the other lines of a
      character who is also in the line's scripted shot (whose mouth could carry the line) minus the
      mean similarity to the scripted speaker's other lines (positive: the line sounds like the other
      visible character), plus `MOUTH_WEIGHT` times how much more another face's mouth moves than the
      speaker's during the line (`mouth_evidence`; 0 where the faces are not all found). A line whose shot shows nobody else scores `NO_OTHER_VISIBLE` (no visible
      mouth to confuse the voice with). Comparing with every other character instead (visible or
      not) let chance look-alikes through: fitting clips, aligned spans, AUC 0.74 vs 0.91;
    - character continuity (voice): for each character, 1 minus the lowest similarity between two
      of their lines (a voice swap mid-scene splits a character's lines into two voices).
    """
    scene = media.scene
    emb = line_embeddings(media)
    by_speaker: dict[str, list[int]] = {}
    for i in emb:
        by_speaker.setdefault(scene.lines[i].speaker, []).append(i)
    spans = {ls.index: ls.span for ls in align_lines(media) if ls.span is not None}
    mouths = mouth_evidence(media) if emb else {}
    identity, windows_i = {}, []
    for i, vec in emb.items():
        me = scene.lines[i].speaker
        own = [float(vec @ emb[j]) for j in by_speaker[me] if j != i]
        if not own:
            continue
        try:
            visible = scene.shots[scene.shot_of_line(i)].subjects
        except KeyError:
            visible = list(by_speaker)
        others = [float(np.mean([vec @ emb[j] for j in by_speaker[c]])) for c in visible if c != me and c in by_speaker]
        identity[i] = (max(others) - float(np.mean(own)) + MOUTH_WEIGHT * mouths.get(i, 0.0)) if others else NO_OTHER_VISIBLE
        windows_i.append((spans[i].start, spans[i].end, identity[i]))
    continuity, windows_c = 0.0, []
    for js in by_speaker.values():
        if len(js) < 2:
            continue
        sims = [(float(emb[a] @ emb[b]), b) for k, a in enumerate(js) for b in js[k + 1:]]
        low, b = min(sims)
        if 1 - low > continuity:
            continuity = 1 - low
            windows_c = [(spans[b].start, spans[b].end, 1 - low)]
    has_pairs = any(len(js) >= 2 for js in by_speaker.values())
    return [
        ModeScore("dp.speaker_identity_error", max(identity.values()) if identity else None, identity, windows_i),
        # the continuity probe combines this with the look evidence into the reported score
        ModeScore("ct.character_continuity_break", continuity if has_pairs else None, {}, windows_c),
    ]
