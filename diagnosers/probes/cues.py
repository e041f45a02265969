"""Scripted sound cues: whether each sound the script asks for (a door slam, a phone ring) is heard."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from diagnosers.media import SAMPLE_RATE, ClipMedia
from diagnosers.probes.align import align_lines
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.soundscape import MODEL, _load

# What each kind of scripted sound sounds like (a listener's description, decision 108): the bands
# where it puts its energy, how long it lasts (s), and how it is read:
#   hit - its loudest 60 ms (a short knock, slam, shot); sustained - the mean of the loudest half of
#   its window; tone - a steady tone, read as sustained against the neighbouring frequencies (so
#   that broadband speech and music cancel); ring - the strongest spectral peaks averaged over 180 ms
#   (metal rings at its own partials, speech harmonics glide); steps - a hit every 0.5 s (4 steps),
#   the level on the beats minus between them.
CUE_TEMPLATES: dict[str, tuple[tuple[tuple[float, float], ...], float, str]] = {
    "impact": (((40, 120),), 0.3, "hit"),  # a thump under a noise burst (slam, bang, crash, thud)
    "gunshot": (((40, 120),), 0.8, "hit"),
    "knock": (((40, 120),), 0.5, "hit"),
    "glass": (((40, 120), (3000, 7900)), 0.6, "hit"),  # a hit and bright tinkles
    "metal": (((500, 4000),), 0.4, "ring"),  # a hit with ringing mid-high partials
    "click": (((3000, 7900),), 0.1, "hit"),
    "hiss": (((2000, 7900),), 0.8, "sustained"),
    "applause": (((1500, 3000),), 1.5, "sustained"),
    "thunder": (((30, 150),), 1.0, "sustained"),  # a low rumble
    "footsteps": (((40, 900),), 1.8, "steps"),  # soft low thumps, 0.5 s apart
    "bark": (((450, 1600),), 0.7, "sustained"),
    "bell": (((860, 900), (2400, 2460), (4700, 4800)), 1.0, "tone"),  # A5 bell, inharmonic partials
    "doorbell": (((510, 540), (640, 680), (1420, 1470), (1780, 1840)), 1.0, "tone"),  # ding-dong
    "phone": (((432, 448), (472, 488), (872, 888), (952, 968)), 1.0, "tone"),  # 440 + 480 Hz ring
    "horn": (((390, 410), (490, 510), (790, 810), (990, 1010)), 0.6, "tone"),  # 400 + 500 Hz buzz
    "whistle": (((2800, 3200),), 0.8, "tone"),
    "alarm": (((3050, 3150),), 1.0, "tone"),  # 3.1 kHz beeps
    "buzz": (((140, 160), (440, 460), (740, 760)), 0.8, "tone"),  # 150 Hz buzzer
}
STEP_S, STEPS = 0.5, 4
# Words of a cue text -> kind (first match wins, specific kinds first; anything else is a generic impact).
CUE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("gunshot", ("gun", r"shots?\b", "pistol", "rifle")),
    ("glass", ("glass", "shatter", "plate", "dish", "window break")),
    ("knock", ("knock",)),
    ("doorbell", ("doorbell", "door bell")),
    ("applause", ("applau", "clap", "cheer")),
    ("buzz", ("buzz", "vibrat")),
    ("phone", ("phone", r"ring(s|ing)?\b", "telephone", "cellphone")),
    ("bell", ("bell", "chime", "ding")),
    ("horn", ("horn", "honk", "train whistle", "foghorn")),
    ("whistle", ("whistle",)),
    ("alarm", ("alarm", "siren", "beep")),
    ("thunder", ("thunder", "lightning")),
    ("footsteps", ("footstep", "step", "walk", "running")),
    ("bark", ("bark", "dog", "woof")),
    ("click", ("click", "switch")),
    ("hiss", ("hiss", "brake", "steam", "static", "crackl", "spray")),
    ("metal", ("clang", "clink", "metal", "iron", "locker", r"tray\b", r"pans?\b", "cymbal", "trash can", "gate", "bin lid")),
)
CUE_AT = 0.45  # where in its line a cue is expected (fraction of the line's span; decision 108)
CUE_N, CUE_HOP = 1024, 320  # 64 ms window (15.6 Hz bins: resolves the phone's 440/480 Hz pair), 20 ms hop


def cue_kind(text: str) -> str:
    """The kind of sound a cue text describes ("impact" when no word matches)."""
    low = text.lower()
    for kind, words in CUE_WORDS:
        if any(re.search(rf"\b{w}", low) for w in words):
            return kind
    return "impact"


def cue_template_level(media: ClipMedia, t0: float, kind: str) -> float | None:
    """How much the cue kind's template rises at `t0` over the second around it (log power, nats).

    Per 20 ms frame of a 64 ms spectrogram, the template bands' log power (`CUE_TEMPLATES`: a tone
    minus the neighbouring bands; a ring: the 3 strongest peaks of the log spectrum averaged over 9
    frames, over its 17-bin (265 Hz) local mean); the level over [t0 - 0.2, t0 + duration] (a hit: its loudest 3-frame
    mean; otherwise the mean of the loudest half) minus the median over 0.3-1.0 s before and
    0.4-1.2 s after that window (the line's speech and the bed around the cue). Steps: the mean
    level on 4 beats 0.5 s apart minus half-way between them, at the best start within ±0.25 s.
    """
    from scipy.fft import rfft
    from scipy.ndimage import uniform_filter1d

    bands, dur, style = CUE_TEMPLATES[kind]
    a = max(0.0, t0 - 1.0 - CUE_N / SAMPLE_RATE)
    seg = media.audio_window(a, t0 + dur + 1.2 + CUE_N / SAMPLE_RATE).astype(np.float32)
    n = (len(seg) - CUE_N) // CUE_HOP + 1
    if n < 8:
        return None
    idx = np.arange(n)[:, None] * CUE_HOP + np.arange(CUE_N)[None, :]
    power = np.abs(rfft(seg[idx] * np.hanning(CUE_N).astype(np.float32), axis=1)) ** 2 + 1e-10
    freqs = np.fft.rfftfreq(CUE_N, 1 / SAMPLE_RATE)
    times = a + (np.arange(n) * CUE_HOP + CUE_N / 2) / SAMPLE_RATE
    sel, near = np.zeros(len(freqs), bool), np.zeros(len(freqs), bool)
    for lo, hi in bands:
        sel |= (freqs >= lo) & (freqs <= hi)
        w = max(hi - lo, 60.0)
        near |= ((freqs >= lo - 2 * w) & (freqs < lo - w / 2)) | ((freqs > hi + w / 2) & (freqs <= hi + 2 * w))
    near &= ~sel
    if not sel.any():
        return None
    if style == "ring":
        lo, hi = bands[0]
        wide = (freqs >= lo - 200) & (freqs <= hi + 200)
        held = uniform_filter1d(np.log(power[:, wide]), 9, axis=0)
        excess = (held - uniform_filter1d(held, 17, axis=1))[:, (freqs[wide] >= lo) & (freqs[wide] <= hi)]
        e = np.sort(excess, axis=1)[:, -3:].mean(axis=1)
    else:
        e = np.log(power[:, sel].mean(axis=1))
        if style == "tone" and near.any():
            e = e - np.log(power[:, near].mean(axis=1))
    if style == "steps":
        frame = lambda t: np.clip(np.round((t - times[0]) * SAMPLE_RATE / CUE_HOP).astype(int), 0, n - 1)
        beats = np.arange(STEPS) * STEP_S
        best = None
        for shift in np.arange(-0.25, 0.251, 0.02):
            on = frame(t0 + shift + beats)
            off = frame(t0 + shift + beats + STEP_S / 2)
            peak = np.maximum.reduce([e[np.clip(on + k, 0, n - 1)] for k in (-1, 0, 1)])
            v = float(peak.mean() - e[off].mean())
            best = v if best is None else max(best, v)
        return best
    post = (times >= t0 - 0.2) & (times <= t0 + dur)
    ref = ((times >= t0 - 1.0) & (times < t0 - 0.3)) | ((times > t0 + dur + 0.4) & (times <= t0 + dur + 1.2))
    if post.sum() < 1 or ref.sum() < 2:
        return None
    smooth = np.convolve(e, np.ones(3) / 3, "same")[post]
    top = smooth.max() if style in ("hit", "ring") else np.sort(smooth)[-max(1, len(smooth) // 2):].mean()
    return float(top - np.median(e[ref]))


def _cue_reference(path: str | None = None) -> dict[str, float]:
    model = _load(str(path or MODEL))
    return (model or {}).get("cues", {})


def cue_strengths(media: ClipMedia, path: str | None = None) -> list[tuple[int, float, str, float]]:
    """(line, expected time, kind, deficit) per scripted sound cue whose line the aligner placed.

    The cue is expected at 45 % of its aligned line (its slot when the line is silent). Deficit =
    the kind's reference level (median template level of played cues of that kind on fitting
    clips, `fit_cue_reference`; the all-kind median for a kind not seen) minus the level read
    here: about 0 or below when the cue plays, the reference's size when it is missing.
    """
    scene = media.scene
    if scene is None or not scene.atmosphere.sounds:
        return []
    ref = _cue_reference(path)
    default = ref.get("_all", 3.5)  # fallback: the all-kind median on sparse fitting clips (decision 108)
    spans = {ls.index: ls.span or ls.slot for ls in align_lines(media)}
    out = []
    for cue in scene.atmosphere.sounds:
        span = spans.get(cue.at_line)
        if span is None:
            continue
        kind = cue_kind(cue.cue)
        t0 = span.start + CUE_AT * (span.end - span.start)
        level = cue_template_level(media, t0, kind)
        if level is None:
            continue
        out.append((cue.at_line, t0, kind, float(ref.get(kind, default) - level)))
    return out


def fit_cue_reference(samples: Iterable[tuple], out: Path = MODEL, shrink: float = 3.0) -> dict:
    """Per cue kind, the template level that played cues read on `(media, manifest)` fitting clips.

    A kind's reference is the median over its played cues, shrunk toward the all-kind median as if
    `shrink` more cues read that (few cues of a kind). Written under "cues" in the model file
    (the music models are kept). Only fitting clips' manifests are read (which cue was left out).
    """
    by: dict[str, list[float]] = {}
    for media, manifest in samples:
        scene = media.scene
        if scene is None or not scene.atmosphere.sounds:
            continue
        left_out = {f.params.get("cue") for f in manifest.faults if f.fault == "missing_sound_cue"}
        spans = {ls.index: ls.span or ls.slot for ls in align_lines(media)}
        for k, cue in enumerate(scene.atmosphere.sounds):
            span = spans.get(cue.at_line)
            if k in left_out or span is None:
                continue
            kind = cue_kind(cue.cue)
            level = cue_template_level(media, span.start + CUE_AT * (span.end - span.start), kind)
            if level is not None:
                by.setdefault(kind, []).append(level)
    every = [v for vs in by.values() for v in vs]
    overall = float(np.median(every)) if every else 3.5
    cues = {kind: float((len(vs) * np.median(vs) + shrink * overall) / (len(vs) + shrink)) for kind, vs in sorted(by.items())}
    cues["_all"] = overall
    cues["_counts"] = {kind: len(vs) for kind, vs in sorted(by.items())}
    model = dict(_load(str(out)) or {})
    model["cues"] = cues
    out.write_text(json.dumps(model, indent=1), encoding="utf-8")
    _load.cache_clear()
    return cues


@probe("cues", ("sd.missing_scripted_sound",))
def scripted_sounds(media: ClipMedia) -> list[ModeScore]:
    """Per line with a sound cue, how far the cue kind's template reads under what a played cue of
    that kind reads (`cue_strengths`, decision 108); the line's largest such deficit over its cues."""
    missing, windows = {}, []
    for i, t0, kind, strength in cue_strengths(media):
        missing[i] = max(missing.get(i, -np.inf), strength)
        windows.append((t0 - 0.2, t0 + CUE_TEMPLATES[kind][1], strength))
    return [ModeScore("sd.missing_scripted_sound", max(missing.values()) if missing else None, missing, windows)]
