"""Voice probes: delivery per line (speech level over the background, decision 089; voicing,
decision 121; flatness against the emotion, decision 124), voice identity per line against the
characters in the line's shot (Resemblyzer, prosody and mouths; decisions 090, 104, 122) and a
character's voice changing (decision 123). The prosody measures live in `prosody.py`."""

from __future__ import annotations

import math

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.align import align_lines
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.features import HOP_S, embed_spans, spectral_frames
from diagnosers.probes.prosody import (
    background_power,
    flat_scores,
    line_prosody,
    other_voice_evidence,
    others_in_shot,
    voice_change,
)
from scenes.vocabulary import Delivery

BAND_HZ = (200.0, 4000.0)  # speech band of the level measure
TILT_HI_HZ, TILT_LO_HZ = (2000.0, 6000.0), (200.0, 1500.0)
BED_FACTOR = 2.0  # subtract twice the median background power per bin (the bed fluctuates around its median)


def line_speech_levels(media: ClipMedia) -> dict[int, tuple[float, float]]:
    """Per found line: (speech level dB over the background, spectral tilt dB of that speech).

    The background (music, ambience) is the median power per frequency bin of the frames outside
    every aligned line (`background_power`; the quietest fifth of the frames when lines cover nearly
    everything); it is subtracted (twice over) from each line's frames, so a whisper under a bed reads as little speech
    instead of the bed's level. Level: mean of the louder half of the line's frames of the cleaned
    power in 200-4000 Hz; tilt: cleaned power above 2 kHz over 200-1500 Hz.
    """

    def compute(m: ClipMedia) -> dict[int, tuple[float, float]]:
        spec, freqs = spectral_frames(m)
        power = spec.astype(np.float64) ** 2
        found = [ls for ls in align_lines(m) if ls.span is not None]
        bed = background_power(m)
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
# Voicing (decision 121): a whisper has no voice pitch. Outside background_drowning clips the share
# of a line's frames with a clear voice pitch (`line_prosody`) separates completely on the fitting
# and held-out clips: scripted normal lines 0.21-0.61 (5-95 %), whispered ones 0.00-0.01; shouts
# 0.31-0.72, whispered 0.00-0.13. Where the clip's voiced lines show no clear pitch (the music
# drowns them; median share under VOICING_RELIABLE), the remaining cue is the speech detector: a
# whispered line's mean speech probability reads 0.28 under the clip's other voiced lines (10-90 %:
# 0.07-0.45), a line said as scripted 0.01 (-0.09..+0.10); the cue saturates at QUIET_SCALE (a
# deeper drop is a silent slot, which SILENT_PENALTY handles). Weights swept 1-4 and 0.5-4, the
# saturation 1-inf, on the fitting clips (best balanced accuracy under the clean cap): fitting AUC
# 0.910 -> 0.978, BA 0.891 -> 0.952.
VOICING_RELIABLE = 0.2
VOICING_WEIGHT, QUIET_WEIGHT, QUIET_SCALE = 1.0, 2.0, 0.3


def delivery_mode_scores(media: ClipMedia) -> dict[int, float]:
    """Per found line: where its speech level and tilt sit between the scripted delivery (0) and the
    confused one (1), plus the voicing evidence. The clip's reference level is the median over lines
    of level minus the scripted delivery's expected offset, so scenes without normal lines still have
    an anchor. A span with little speech in it (a dropped line's silent slot) is pulled down:
    silence is not a whisper.

    Voicing: the line's share of frames with a clear voice pitch as a fraction of the clip's voiced
    lines' median share (whisper where voice is scripted: 1 - fraction; voice where a whisper is
    scripted: the fraction), weighted by how clearly the clip's voices show a pitch at all; where they
    do not (drowned), how far the line's speech probability falls under the clip's voiced lines'.
    """
    scene = media.scene
    levels = line_speech_levels(media)
    if not levels:
        return {}
    ref = float(np.median([lv - DELIVERY_LEVELS[scene.lines[i].delivery][0][0] for i, (lv, _) in levels.items()]))
    speech = {ls.index: ls.speech for ls in align_lines(media)}
    prosody = line_prosody(media)
    voiced_lines = [i for i in prosody if scene.lines[i].delivery is not Delivery.whisper]
    clip_voicing = float(np.median([prosody[i].voiced for i in voiced_lines])) if voiced_lines else 0.0
    reliable = min(1.0, clip_voicing / VOICING_RELIABLE)
    out = {}
    for i, (lv, tilt) in levels.items():
        delivery = scene.lines[i].delivery
        (l_ok, l_bad), (t_ok, t_bad) = DELIVERY_LEVELS[delivery]
        s_level = (lv - ref - l_ok) / (l_bad - l_ok)
        s_tilt = (tilt - t_ok) / (t_bad - t_ok)
        silent = SILENT_PENALTY * max(0.0, SILENT_SPEECH - speech.get(i, 1.0))
        score = LEVEL_WEIGHT * s_level + (1 - LEVEL_WEIGHT) * s_tilt - silent
        if i in prosody and clip_voicing > 0:
            fraction = min(1.0, prosody[i].voiced / clip_voicing)
            score += VOICING_WEIGHT * reliable * (fraction if delivery is Delivery.whisper else 1.0 - fraction)
        others = [speech[j] for j in prosody if j != i and scene.lines[j].delivery in (Delivery.normal, Delivery.shout)]
        if delivery is not Delivery.whisper and others:
            quiet = min(1.0, max(0.0, float(np.median(others)) - speech.get(i, 0.0)) / QUIET_SCALE)
            score += QUIET_WEIGHT * (1.0 - reliable) * quiet
        out[i] = score
    return out


@probe("delivery", ("dp.speech_mode_confusion", "ep.vocal_emotional_delivery_failure"), sound_only=True)
def delivery(media: ClipMedia) -> list[ModeScore]:
    """Per line: level, tilt and voicing against the scripted delivery; prosody against the emotion.

    - speech mode confusion: the line's speech level over the background (bed subtracted, relative to
      the clip's reference) and tilt, placed on the line from the scripted delivery's usual reading
      (0) to the confused delivery's (1): a whisper where a shout or normal speech is scripted reads
      ~1, a shout where a whisper is scripted too; plus the share of the line with a clear voice
      pitch against the clip's voiced lines (a whisper has none), or, where the music hides every
      voice's pitch, how far the line's speech probability falls under the others'
      (`delivery_mode_scores`);
    - vocal emotional delivery failure: `flat_scores`, the log-likelihood ratio of the line's pitch,
      pitch spread, speaking time and level said neutral vs said with its scripted emotion (at most 0
      for a line scripted as shouted or whispered; decision 190).
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


def line_embeddings(media: ClipMedia) -> dict[int, np.ndarray]:
    """Resemblyzer embedding per found line (lines under 0.4 s are left out)."""

    def compute(m: ClipMedia) -> dict[int, np.ndarray]:
        found = [ls for ls in align_lines(m) if ls.span is not None]
        vecs = embed_spans(m, [ls.span for ls in found])
        return {ls.index: v for ls, v in zip(found, vecs) if v is not None}

    return media.feature("line_embeddings", compute)


# Speaker identity (decision 122): per visible other character, EMBEDDING_WEIGHT x the Resemblyzer
# margin plus the prosody evidence (`other_voice_evidence`, a log-likelihood ratio of pitch and
# speaking time), floored at PROSODY_FLOOR, plus MOUTH_WEIGHT x the mouth evidence. Swept on the
# fitting clips (sparse seeds 0-5, clean 3000-3001; best balanced accuracy under the clean cap):
# weights 3-15 / 2-10, floors -0.5..-2; floor -0.5, weights 4 and 5 gave fitting BA 0.935, AUC
# 0.949 (without the floor AUC 0.88: a misplaced span reads as strong evidence *against* the other
# voice, which an alignment error, not the voice, explains).
EMBEDDING_WEIGHT, MOUTH_WEIGHT, PROSODY_FLOOR = 4.0, 5.0, -0.5
WRONG_VOICE = 1.0  # identity score over which a line counts as voiced by another character (decision 123)
NO_OTHER_VISIBLE = -5.0  # below any score with a visible other character (fitting clips: -3.2 at the lowest)
# A line voiced by another visible character comes with that character's mouth moving, not the
# speaker's (decision 104). Mouth evidence: the largest mouth-opening spread (std over the line's
# face samples) of another face in the shot minus the speaker's, on lines whose shot shows as many
# faces as it has subjects (matched left to right in stage order, as the `faces` probe does).
# Fitting clips (sparse seeds 0-2): wrong-voice lines read -0.08..0.18 (median 0.02), other lines
# median 0, 95th percentile 0.06.


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


@probe("voices", ("dp.speaker_identity_error",), sound_features=(line_embeddings,))
def voices(media: ClipMedia) -> list[ModeScore]:
    """Voice identity per line against the characters the script puts in the line's shot.

    - speaker identity error: for each line and each other character in its scripted shot (a
      mouth that could carry the line), EMBEDDING_WEIGHT x (mean Resemblyzer similarity to that
      character's lines minus to the speaker's own other lines) plus how much better that
      character's scripted voice explains the line's pitch and speaking time than the speaker's or
      an unknown voice (`other_voice_evidence`, floored at PROSODY_FLOOR); the best character,
      plus MOUTH_WEIGHT times how much more another face's mouth moves than the speaker's
      (`mouth_evidence`; 0 where the faces are not all found). A line whose shot shows nobody else
      scores NO_OTHER_VISIBLE (no visible mouth to confuse the voice with);
    - character continuity (voice): `voice_change`, the largest z^2 of a character's pitch moving
      away from the script's prediction from one of their lines on (a swapped voice), with the
      changed lines as windows (the `continuity` probe combines it with the look evidence).
    """
    scene = media.scene
    emb = line_embeddings(media)
    by_speaker: dict[str, list[int]] = {}
    for i in emb:
        by_speaker.setdefault(scene.lines[i].speaker, []).append(i)
    spans = {ls.index: ls.span for ls in align_lines(media) if ls.span is not None}
    mouths = mouth_evidence(media)
    identity, windows_i = {}, []
    for i, span in spans.items():
        me = scene.lines[i].speaker
        others = others_in_shot(scene, i)
        if not others:
            identity[i] = NO_OTHER_VISIBLE
        else:
            own = [float(emb[i] @ emb[j]) for j in by_speaker.get(me, []) if j != i] if i in emb else []

            def margin(other: str) -> float:
                if not own or other not in by_speaker:
                    return 0.0
                return float(np.mean([emb[i] @ emb[j] for j in by_speaker[other]])) - float(np.mean(own))

            identity[i] = max(EMBEDDING_WEIGHT * margin(o) + max(PROSODY_FLOOR, other_voice_evidence(media, i, o))
                              for o in others) + MOUTH_WEIGHT * mouths.get(i, 0.0)
        windows_i.append((span.start, span.end, identity[i]))
    change, who, first = voice_change(media, {i for i, v in identity.items() if v > WRONG_VOICE})
    changed = [j for j in spans if who is not None and j >= first and scene.lines[j].speaker == who]
    speakers = [ln.speaker for ln in scene.lines]
    has_pairs = any(speakers.count(c) >= 2 for c in set(speakers))
    return [
        ModeScore("dp.speaker_identity_error", max(identity.values()) if identity else None, identity, windows_i),
        # the continuity probe combines this with the look evidence into the reported score
        ModeScore("ct.character_continuity_break", change if has_pairs else None, {j: change for j in changed},
                  [(spans[j].start, spans[j].end, change) for j in changed]),
    ]
