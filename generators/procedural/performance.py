"""Acting over time: per frame and character, the expression, gestures, scripted actions and gaze target."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from generators.procedural.faults import FaultPlan
from scenes import EMOTION_AFFECT, Delivery, Scene

ACTION_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("slam", ("slam", "bang", "hit", "smash", "punch", "throw", "knock", "pound", "thump", "drop")),
    ("hug", ("hug", "embrace", "lean", "hold", "touch", "kiss", "hand", "reach", "grab", "take")),
    ("stand", ("stand", "rise", "get up", "gets up", "jump")),
    ("sit", ("sit", "slump", "collapse", "kneel")),
    ("nod", ("nod",)),
    ("shake", ("shake", "shakes")),
    ("turn", ("turn", "walk", "leave", "away", "step back", "back off")),
    ("raise", ("raise", "wave", "point", "gesture", "shrug", "lift", "show", "open", "throw up", "arms")),
)
SMOOTH_S = 0.25
# robotic movement (fault): the body's pose is updated only every ROBOT_STEP frames and held in between,
# so motion goes in stepped jerks that stop dead, and the figure does not breathe
ROBOT_STEP = 4


def action_kind(action: str) -> str:
    """What a scripted action text looks like when drawn (unknown verbs become a raised arm)."""
    text = action.lower()
    for kind, words in ACTION_KINDS:
        if any(w in text for w in words):
            return kind
    return "raise"


@dataclass
class Acting:
    """Per-frame arrays for one character (length = number of frames)."""

    valence: np.ndarray
    arousal: np.ndarray
    arm_left: np.ndarray
    arm_right: np.ndarray
    lean: np.ndarray          # toward the gaze target (+) or away (-), units of figure height
    sit: np.ndarray
    nod: np.ndarray
    shake: np.ndarray
    blink: np.ndarray
    target: list[str | None]  # whom they look at; "!away:<id>" = deliberately away from <id>
    rigid: np.ndarray | None = None  # frames where the figure moves like a machine (no breathing; robotic_movement)


def _smooth(x: np.ndarray, fps: float) -> np.ndarray:
    a = 1.0 - math.exp(-1.0 / (SMOOTH_S * fps))
    out = np.empty_like(x)
    acc = x[0]
    for i, v in enumerate(x):
        acc += a * (v - acc)
        out[i] = acc
    return out


def _bump(t: np.ndarray, start: float, end: float) -> np.ndarray:
    """0 outside [start, end], rising and falling smoothly inside."""
    u = np.clip((t - start) / max(1e-3, end - start), 0, 1)
    return np.sin(np.pi * u) ** 2 * ((t >= start) & (t <= end))


def _stepped(x: np.ndarray, frames: np.ndarray, step: int) -> np.ndarray:
    """x held at every `step`-th frame of `frames` (a staircase: motion in jerks, dead still in between)."""
    out = x.copy()
    if len(frames):
        out[frames] = x[frames[0] + (frames - frames[0]) // step * step]
    return out


def perform(scene: Scene, plan: FaultPlan, line_spans: list[tuple[float, float]], line_owner: list[str],
            n_frames: int, fps: float, robotic: tuple[str, float, float] | None = None) -> tuple[dict[str, Acting], dict[int, float]]:
    """Acting for every character, plus the time of each drawn action (line -> seconds) for the manifest.

    `robotic` = (character, start, end): that character moves like a machine in that span (robotic_movement)."""
    t = np.arange(n_frames) / fps
    out: dict[str, Acting] = {}
    action_times: dict[int, float] = {}
    # who speaks at each frame (the voice owner), for listeners' gaze
    speaking: list[str | None] = [None] * n_frames
    last_speaker: list[str | None] = [None] * n_frames
    for (s, e), who in zip(line_spans, line_owner):
        i0, i1 = int(s * fps), min(n_frames, int(math.ceil(e * fps)))
        for k in range(i0, i1):
            speaking[k] = who
    cur = None
    for k in range(n_frames):
        cur = speaking[k] or cur
        last_speaker[k] = cur
    for c in scene.characters:
        cid = c.id
        mine = [i for i, ln in enumerate(scene.lines) if line_owner[i] == cid or ln.speaker == cid]
        val = np.zeros(n_frames, np.float32)
        aro = np.full(n_frames, 0.3, np.float32)
        # listeners carry their last line's feeling at half strength; before it, their first line's
        first = mine[0] if mine else None
        base_v, base_a = (EMOTION_AFFECT[scene.lines[first].emotion] if first is not None else (0.0, 0.3))
        val[:] = 0.4 * base_v
        aro[:] = 0.3 + 0.3 * (base_a - 0.3)
        arm_l = np.zeros(n_frames, np.float32)
        arm_r = np.zeros(n_frames, np.float32)
        lean = np.zeros(n_frames, np.float32)
        sit = np.zeros(n_frames, np.float32)
        nod = np.zeros(n_frames, np.float32)
        shake = np.zeros(n_frames, np.float32)
        target: list[str | None] = [None] * n_frames
        for k in range(n_frames):
            who = last_speaker[k]
            target[k] = who if who and who != cid else None
        seated_first = False
        for i, line in enumerate(scene.lines):
            if line.speaker != cid:
                continue
            s, e = line_spans[i]
            v, a = EMOTION_AFFECT[line.emotion]
            if plan.on_line("expression_mismatch", i) is not None:
                v = -math.copysign(max(0.75, abs(v)), v)
            m = (t >= s - 0.15) & (t <= e + 0.3)
            val[m], aro[m] = v, a
            after = t > e + 0.3
            val[after], aro[after] = 0.5 * v, 0.3 + 0.5 * (a - 0.3)
            if line.delivery is not Delivery.voice_over and a > 0.55:  # co-speech beat gestures
                arm_r += (0.22 + 0.12 * np.sin(2 * np.pi * 1.4 * (t - s))) * _bump(t, s, e) * min(1.0, (a - 0.45) * 2)
            addressee = line.addressee
            looks_at = addressee or next((x.id for x in scene.characters if x.id != cid), None)
            span = (t >= s - 0.2) & (t <= e)
            for k in np.nonzero(span)[0]:
                target[k] = looks_at
            if plan.on_line("eyeline_failure", i) is not None and looks_at:
                for k in np.nonzero(span)[0]:
                    target[k] = f"!away:{looks_at}"
            if line.action and plan.on_line("action_missing", i) is None:
                kind = action_kind(line.action)
                dur = max(0.4, e - s)
                action_times[i] = round(s + 0.45 * dur, 3)
                if kind == "slam":
                    up = _bump(t, s, s + 0.45 * dur) * 0.95
                    arm_r = np.maximum(arm_r, up)
                    lean += 0.04 * _bump(t, s + 0.3 * dur, s + 0.8 * dur)
                elif kind == "hug":
                    reach = np.clip((t - s) / 0.5, 0, 1) * (t <= e + 0.8)
                    lean += 0.12 * reach
                    arm_l = np.maximum(arm_l, 0.28 * reach)
                    arm_r = np.maximum(arm_r, 0.28 * reach)
                elif kind == "stand":
                    if not seated_first:
                        sit[t < s] = 1.0
                        seated_first = True
                    rise = (t >= s) & (t < s + 0.6 * dur)
                    sit[rise] = 1.0 - (t[rise] - s) / (0.6 * dur)
                elif kind == "sit":
                    sit = np.maximum(sit, np.clip((t - s) / (0.6 * dur), 0, 1))
                elif kind == "nod":
                    nod += 0.018 * np.abs(np.sin(2 * np.pi * 1.5 * (t - s))) * _bump(t, s, min(e, s + 1.4))
                elif kind == "shake":
                    shake += 0.8 * np.sin(2 * np.pi * 1.8 * (t - s)) * _bump(t, s, min(e, s + 1.4))
                elif kind == "turn":
                    lean -= 0.1 * np.clip((t - s) / 0.8, 0, 1) * (t <= e + 1.0)
                else:
                    arm_r = np.maximum(arm_r, 0.85 * _bump(t, s, min(e + 0.3, s + 1.6)))
                    arm_l = np.maximum(arm_l, 0.3 * _bump(t, s, min(e + 0.3, s + 1.6)))
        # blinks: every 2.5-4.5 s, three frames, phase from the id so characters do not blink together
        h = int(hashlib.sha256(cid.encode()).hexdigest()[:6], 16)
        blink = np.zeros(n_frames, bool)
        tb = 0.8 + (h % 100) / 50
        while tb < t[-1] if n_frames else False:
            k = int(tb * fps)
            blink[k:k + 3] = True
            tb += 2.5 + ((h >> (int(tb) % 16)) % 20) / 10
        acting = Acting(_smooth(val, fps), _smooth(aro, fps), np.clip(arm_l, 0, 1), np.clip(arm_r, 0, 1), lean,
                        np.clip(sit, 0, 1), nod, shake, blink, target)
        if robotic is not None and robotic[0] == cid:
            span = np.nonzero((t >= robotic[1]) & (t < robotic[2]))[0]
            for name in ("arm_left", "arm_right", "lean", "sit", "nod", "shake"):
                setattr(acting, name, _stepped(getattr(acting, name), span, ROBOT_STEP))
            acting.rigid = np.zeros(n_frames, bool)
            acting.rigid[span] = True
        out[cid] = acting
    return out, action_times
