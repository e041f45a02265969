"""The soundtrack: voices per line (with voice faults), the measured timeline, beds, cues, mix, and
the per-character mouth tracks that the picture animates (each character's own speech envelope)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from generators.procedural.faults import FaultPlan
from scenes import (
    MOOD_AFFECT,
    Character,
    Delivery,
    Emotion,
    Mood,
    Scene,
    Timeline,
    Voice,
    layout_timeline,
)

MOUTH_WINDOW_S = 0.04
MUSIC_RATE = 16000  # the score has nothing above ~7 kHz worth the cost of synthesising it at the mix rate
GAINS_DB = {"music": -4.0, "ambience": -6.0, "cues": -4.0}
DROWN_DB = {"music": 14.0, "ambience": 14.0, "voice": -4.0}


@dataclass
class LineAudio:
    index: int
    voice_owner: str          # whose voice and mouth carry the line
    speech: np.ndarray        # what is heard (after dropouts and cut-offs)
    mouth_speech: np.ndarray  # what the mouth follows (before dropouts)
    start: float = 0.0
    end: float = 0.0


@dataclass
class Soundtrack:
    mix: np.ndarray
    sample_rate: int
    duration_s: float
    n_frames: int
    timeline: Timeline
    lines: list[LineAudio]
    mouth: dict[str, np.ndarray]                       # character id -> per-frame opening 0..1
    stems: dict[str, str] = field(default_factory=dict)  # track -> file name inside the clip folder
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)  # fault name -> measured span
    params: dict[str, dict] = field(default_factory=dict)  # fault name -> measured parameters


def opposite_mood(mood: Mood) -> Mood:
    """The mood farthest in valence (then arousal) from `mood`."""
    v, a = MOOD_AFFECT[mood]
    return max(MOOD_AFFECT, key=lambda m: (abs(MOOD_AFFECT[m][0] - v) * 2 + abs(MOOD_AFFECT[m][1] - a), m.value))


def drifted_mood(mood: Mood) -> Mood:
    """A mood of the same feeling but another character (arousal), for music that drifts without contradicting."""
    v, a = MOOD_AFFECT[mood]
    same = [m for m in MOOD_AFFECT if m is not mood and abs(MOOD_AFFECT[m][0] - v) <= 0.45 and (MOOD_AFFECT[m][0] >= 0) == (v >= 0)]
    return max(same, key=lambda m: (abs(MOOD_AFFECT[m][1] - a), m.value)) if same else opposite_mood(mood)


def contrasting_voice(voice: Voice) -> Voice:
    """A clearly different voice for the voice-swap fault: other gender, far pitch, other rate."""
    gender = {"female": "male", "male": "female", "neutral": "male"}[voice.gender]
    pitch = -6 if gender == "male" else 7
    return Voice(gender=gender, pitch=pitch, rate=max(0.5, min(2.0, voice.rate * (0.8 if voice.rate >= 1.0 else 1.25))))


def _music(music_bed, mood: Mood, intensity: float, duration: float, sr: int, seed: int) -> np.ndarray:
    from generators.audio.dsp import resample

    rate = min(sr, MUSIC_RATE)
    bed = music_bed(mood, intensity, duration, rate, seed)
    out = resample(bed, rate, sr) if rate != sr else bed
    n = int(round(duration * sr))
    return np.pad(out, (0, max(0, n - len(out))))[:n].astype(np.float32)


def _place(track: np.ndarray, sound: np.ndarray, at_s: float, sr: int) -> None:
    start = int(round(at_s * sr))
    if start < 0:
        sound, start = sound[-start:], 0
    end = min(len(track), start + len(sound))
    if end > start:
        track[start:end] += sound[: end - start]


def _envelope(speech: np.ndarray, start_s: float, sr: int, frame_times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RMS of `speech` (placed at start_s) around each frame time; returns (frame indices, values)."""
    dur = len(speech) / sr
    idx = np.nonzero((frame_times >= start_s - MOUTH_WINDOW_S) & (frame_times <= start_s + dur + MOUTH_WINDOW_S))[0]
    if len(idx) == 0 or len(speech) == 0:
        return idx, np.zeros(0, np.float32)
    csum = np.concatenate([[0.0], np.cumsum(np.square(speech, dtype=np.float64))])
    rel = frame_times[idx] - start_s
    a = np.clip(((rel - MOUTH_WINDOW_S / 2) * sr).astype(np.int64), 0, len(speech))
    b = np.clip(((rel + MOUTH_WINDOW_S / 2) * sr).astype(np.int64), 0, len(speech))
    values = np.sqrt((csum[b] - csum[a]) / np.maximum(1, b - a))
    ref = np.percentile(values[values > 0], 90) if np.any(values > 0) else 1.0
    opening = np.clip(values / max(ref, 1e-6), 0, 1) ** 0.8
    opening[opening < 0.15] = 0.0  # lips close in the gaps between words
    return idx, opening.astype(np.float32)


def build_soundtrack(scene: Scene, plan: FaultPlan, *, backend, sample_rate: int, fps: float, seed: int,
                     music: bool, ambience: bool, cues: bool, stems_dir: Path) -> Soundtrack:
    """Speak every line, lay out the measured timeline, add beds and cues, mix, and derive the mouths."""
    from generators.audio.beds import ambience_bed, music_bed, sound_cue
    from generators.audio.mix import mix_tracks

    sr = sample_rate
    spans: dict[str, tuple[float, float]] = {}
    params: dict[str, dict] = {}
    swap = plan.get("voice_swap")
    swapped: Character | None = None
    if swap is not None:
        who = scene.character(swap.params["character"])
        swapped = who.model_copy(update={"voice": contrasting_voice(who.voice)})
        params["voice_swap"] = {"voice": swapped.voice.model_dump(mode="json")}
    lines: list[LineAudio] = []
    for i, line in enumerate(scene.lines):
        owner = line.speaker
        wrong = plan.on_line("wrong_mouth", i)
        if wrong is not None:
            owner = wrong.params["voiced_by"]
        character = scene.character(owner)
        if swapped is not None and owner == swapped.id and i >= swap.line:
            character = swapped
        emotion, delivery = line.emotion, line.delivery
        mode = plan.on_line("wrong_speech_mode", i)
        if mode is not None:
            delivery = Delivery.shout if line.delivery is Delivery.whisper else Delivery.whisper
            params.setdefault("wrong_speech_mode", {})["delivered"] = delivery.value
        if plan.on_line("flat_delivery", i) is not None:
            emotion = Emotion.neutral
        speech = backend.synthesize(line.text, character, emotion=emotion, delivery=delivery, seed=seed * 1009 + i)
        samples = np.asarray(speech.resampled(sr).samples, dtype=np.float32).copy()
        lines.append(LineAudio(i, owner, samples, samples.copy()))

    # timing faults change pauses (and cut the previous line short)
    pauses = [ln.pause_before_s for ln in scene.lines]
    for i in range(1, len(lines)):
        prev = lines[i - 1]
        if (f := plan.on_line("dead_air", i)) is not None:
            pauses[i] = round(2.4 + 1.6 * f.severity, 3)
        elif (f := plan.on_line("overlapping_turns", i)) is not None:
            pauses[i] = -round(min(0.7 * len(prev.speech) / sr, 0.45 + 0.7 * f.severity), 3)
        elif (f := plan.on_line("cut_off_turn", i)) is not None:
            keep = int(len(prev.speech) * (0.65 - 0.2 * f.severity))
            prev.speech = prev.speech[:keep].copy()
            prev.mouth_speech = prev.mouth_speech[:keep].copy()
            pauses[i] = 0.03
            params["cut_off_turn"] = {"kept_fraction": round(keep / max(1, len(prev.mouth_speech) + 1), 3)}
    seconds = [len(ln.speech) / sr for ln in lines]
    timeline = layout_timeline(scene, seconds, pauses)
    n_frames = int(np.ceil(timeline.duration_s * fps))
    duration = n_frames / fps
    n = int(round(duration * sr))
    for ln, span in zip(lines, timeline.lines):
        ln.start, ln.end = span.start, span.end

    # dropouts mute what is heard, not what the mouth does
    for ln in lines:
        if (f := plan.on_line("dropped_line", ln.index)) is not None:
            ln.speech = np.zeros_like(ln.speech)
            spans["dropped_line"] = (ln.start, ln.end)
        elif (f := plan.on_line("audio_dropout", ln.index)) is not None:
            frac = 0.35 + 0.4 * f.severity
            a = int(len(ln.speech) * 0.25)
            b = min(len(ln.speech), a + int(len(ln.speech) * frac))
            ln.speech = ln.speech.copy()
            ln.speech[a:b] = 0.0
            spans["audio_dropout"] = (round(ln.start + a / sr, 3), round(ln.start + b / sr, 3))

    tracks: dict[str, np.ndarray] = {}
    for ln in lines:
        track = tracks.setdefault(f"voice_{ln.voice_owner}", np.zeros(n, np.float32))
        _place(track, ln.speech, ln.start, sr)
    for c in scene.characters:  # every character gets a stem, silent if they never speak
        tracks.setdefault(f"voice_{c.id}", np.zeros(n, np.float32))

    scripted = scene.atmosphere.music
    if music and (scripted is not None or plan.get("music_opposite") or plan.get("music_drift")):
        mood = scripted.mood if scripted else scene.atmosphere.mood
        intensity = scripted.intensity if scripted else 0.3
        if plan.get("music_opposite"):
            mood = opposite_mood(mood)
            params["music_opposite"] = {"music_mood": mood.value}
        bed = _music(music_bed, mood, intensity, duration, sr, seed)[:n]
        if plan.get("music_drift"):
            other = drifted_mood(mood)
            t_switch = round(duration * 0.5, 3)
            second = _music(music_bed, other, min(1.0, intensity + 0.2), duration, sr, seed + 1)[:n]
            k = int(t_switch * sr)
            xf = int(0.4 * sr)
            ramp = np.clip((np.arange(n) - k) / xf, 0, 1).astype(np.float32)
            bed = bed * (1 - ramp) + second * ramp
            spans["music_drift"] = (t_switch, round(duration, 3))
            params["music_drift"] = {"from": mood.value, "to": other.value}
        tracks["music"] = np.pad(bed, (0, n - len(bed))).astype(np.float32)
    if ambience and scene.atmosphere.ambience and not plan.get("missing_ambience"):
        bed = ambience_bed(list(scene.atmosphere.ambience), duration, sr, seed)[:n]
        tracks["ambience"] = np.pad(bed, (0, n - len(bed))).astype(np.float32)
    if cues and scene.atmosphere.sounds:
        cue_track = np.zeros(n, np.float32)
        missing = plan.get("missing_sound_cue")
        for k, cue in enumerate(scene.atmosphere.sounds):
            ln = lines[cue.at_line]
            at = ln.start + 0.45 * (ln.end - ln.start)
            if missing is not None and missing.params.get("cue") == k:
                spans["missing_sound_cue"] = (round(at, 3), round(min(duration, at + 1.0), 3))
                continue
            _place(cue_track, sound_cue(cue.cue, sr, seed + k), at, sr)
        tracks["cues"] = cue_track
    gains = {name: GAINS_DB.get(name, 0.0) for name in tracks}
    if plan.get("background_drowning"):
        for name in gains:
            gains[name] += DROWN_DB["voice"] if name.startswith("voice_") else DROWN_DB.get(name, 0.0)
    stems_dir.mkdir(parents=True, exist_ok=True)
    mix = mix_tracks(tracks, sr, gains, stems_dir=stems_dir)
    mix = np.pad(mix, (0, max(0, n - len(mix))))[:n].astype(np.float32)
    stems = {name: f"{stems_dir.name}/{name}.wav" for name in tracks}

    # mouths: each character's own voiced lines (voice-over keeps lips still), shifted by a lip-sync fault
    frame_times = np.arange(n_frames) / fps
    mouth = {c.id: np.zeros(n_frames, np.float32) for c in scene.characters}
    offset = 0.0
    if (f := plan.get("lip_sync_offset")) is not None:
        sign = 1.0 if (seed + len(scene.id)) % 2 == 0 else -1.0
        offset = round(sign * (0.12 + 0.28 * f.severity), 3)
        params["lip_sync_offset"] = {"offset_s": offset, "meaning": "positive: mouth lags the voice"}
    for ln in lines:
        if scene.lines[ln.index].delivery is Delivery.voice_over:
            continue
        idx, values = _envelope(ln.mouth_speech, ln.start + offset, sr, frame_times)
        mouth[ln.voice_owner][idx] = np.maximum(mouth[ln.voice_owner][idx], values)
        if (f := plan.on_line("non_speaker_lip_motion", ln.index)) is not None:
            listener = f.params["character"]
            mouth[listener][idx] = np.maximum(mouth[listener][idx], values * 0.9)
    return Soundtrack(mix, sr, duration, n_frames, timeline, lines, mouth, stems, spans, params)
