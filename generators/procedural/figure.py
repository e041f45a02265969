"""Painting one character: body, arms, head, hair and a face whose features carry the performance."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from generators.procedural.look import Look

AA = cv2.LINE_AA
MOUTH_DARK = (95, 22, 32)
LIPS = (150, 62, 66)
EYE_WHITE = (245, 245, 240)
PUPIL = (25, 20, 20)
HEAD_RX, HEAD_RY = 0.078, 0.095  # head radii across and up, in units of the figure's height


@dataclass
class Pose:
    """One character at one frame, in screen pixels; expression and gesture values in [-1, 1] or [0, 1]."""

    cx: float
    feet_y: float
    h: float                  # full figure height in pixels
    look: Look
    facing: float = 0.0       # head turned toward screen left (-1) or right (+1)
    gaze: float = 0.0         # pupils toward screen left (-1) or right (+1)
    mouth: float = 0.0        # mouth opening 0..1
    valence: float = 0.0
    arousal: float = 0.3
    arm_left: float = 0.0     # 0 = hanging, 1 = raised overhead
    arm_right: float = 0.0
    lean: float = 0.0         # upper body shift in units of h
    sit: float = 0.0          # 0 standing, 1 seated
    nod: float = 0.0          # head drop in units of h
    blink: bool = False


def _pt(x: float, y: float) -> tuple[int, int]:
    return int(round(x)), int(round(y))


def _shade(c: tuple[int, int, int], f: float) -> tuple[int, int, int]:
    return tuple(int(max(0, min(255, v * f))) for v in c)


def head_box(p: Pose) -> tuple[float, float, float, float]:
    """Head centre x, centre y, radius x, radius y in pixels (probes and tests find the face here)."""
    h = p.h * p.look.height
    dy = 0.17 * h * p.sit
    shoulder_y = p.feet_y - 0.80 * h + dy
    return p.cx + p.lean * h, shoulder_y - 0.105 * h + p.nod * h, HEAD_RX * h, HEAD_RY * h


def mouth_centre(p: Pose) -> tuple[float, float, float]:
    """Mouth centre x, y and width in pixels."""
    hx, hy, rx, ry = head_box(p)
    return hx + p.facing * 0.25 * rx, hy + 0.5 * ry, 0.55 * rx


def draw_figure(img: np.ndarray, p: Pose) -> None:
    """Paint the figure onto `img` (H, W, 3 uint8 RGB) in place."""
    look = p.look
    h = p.h * look.height
    w = look.width
    if h < 8:
        return
    dy = 0.17 * h * p.sit
    cx, fy = p.cx, p.feet_y
    shoulder_y = fy - 0.80 * h + dy
    hip_y = fy - 0.47 * h + dy
    lx = p.lean * h
    # legs (seated: shorter, knees forward)
    leg_w = 0.075 * h * w
    for side in (-1, 1):
        x0 = cx + side * 0.055 * h * w
        poly = np.array([_pt(x0 - leg_w / 2, hip_y), _pt(x0 + leg_w / 2, hip_y), _pt(x0 + leg_w / 2 * 0.9, fy),
                         _pt(x0 - leg_w / 2 * 0.9, fy)], np.int32)
        cv2.fillConvexPoly(img, poly, look.legs, AA)
        cv2.ellipse(img, _pt(x0 + side * 0.01 * h, fy), (max(1, int(0.05 * h)), max(1, int(0.018 * h))), 0, 180, 360,
                    (30, 28, 28), -1, AA)
    # torso (dresses and coats run longer)
    sw, hw = 0.15 * h * w, 0.12 * h * w
    hem = {"dress": fy - 0.2 * h, "coat": hip_y + 0.12 * h, "robe": fy - 0.15 * h, "parka": hip_y + 0.1 * h}.get(look.top_kind, hip_y + 0.02 * h)
    hem_w = hw * (1.5 if look.top_kind in ("dress", "robe") else 1.1)
    torso = np.array([_pt(cx + lx - sw, shoulder_y), _pt(cx + lx + sw, shoulder_y), _pt(cx + hem_w, hem), _pt(cx - hem_w, hem)], np.int32)
    cv2.fillConvexPoly(img, torso, look.top, AA)
    if look.top_kind in ("coat", "jacket", "blazer", "suit", "cardigan", "parka"):  # open front shows a shirt
        inner = np.array([_pt(cx + lx - 0.03 * h, shoulder_y), _pt(cx + lx + 0.03 * h, shoulder_y), _pt(cx, hip_y - 0.05 * h)], np.int32)
        cv2.fillConvexPoly(img, inner, (225, 225, 220), AA)
    # arms: one thick stroke each, angle from the raise amount
    arm_len, arm_t = 0.36 * h, max(2, int(0.05 * h * w))
    for side, raise_ in ((-1, p.arm_left), (1, p.arm_right)):
        sx, sy = cx + lx + side * (sw - 0.02 * h), shoulder_y + 0.025 * h
        ang = math.radians(8 + 150 * max(0.0, min(1.0, raise_)))
        ex, ey = sx + side * math.sin(ang) * arm_len * 0.5, sy + math.cos(ang) * arm_len * 0.5
        elbow_bend = 0.5 * raise_
        hx_, hy_ = ex + side * math.sin(ang - elbow_bend) * arm_len * 0.5, ey + math.cos(ang - elbow_bend) * arm_len * 0.5
        cv2.line(img, _pt(sx, sy), _pt(ex, ey), _shade(look.top, 0.9), arm_t, AA)
        cv2.line(img, _pt(ex, ey), _pt(hx_, hy_), _shade(look.top, 0.9), arm_t, AA)
        cv2.circle(img, _pt(hx_, hy_), max(1, int(arm_t * 0.6)), look.skin, -1, AA)
    # neck and head
    hx, hy, rx, ry = head_box(p)
    cv2.rectangle(img, _pt(hx - 0.028 * h, hy + 0.6 * ry), _pt(hx + 0.028 * h, shoulder_y + 0.01 * h), _shade(look.skin, 0.9), -1)
    _draw_hair_back(img, look, hx, hy, rx, ry)
    cv2.ellipse(img, _pt(hx, hy), (max(1, int(rx)), max(1, int(ry))), 0, 0, 360, look.skin, -1, AA)
    _draw_hair_front(img, look, hx, hy, rx, ry)
    _draw_face(img, p, hx, hy, rx, ry)


def _draw_hair_back(img, look: Look, hx, hy, rx, ry) -> None:
    if look.hair_style == "long":
        cv2.ellipse(img, _pt(hx, hy + 0.35 * ry), (int(rx * 1.25), int(ry * 1.25)), 0, 180, 360, look.hair, -1, AA)
        cv2.rectangle(img, _pt(hx - rx * 1.25, hy + 0.35 * ry), _pt(hx + rx * 1.25, hy + 1.6 * ry), look.hair, -1)
    elif look.hair_style == "curly":
        for k in range(9):
            a = math.pi * (0.9 + 1.2 * k / 8)
            cv2.circle(img, _pt(hx + math.cos(a) * rx * 1.05, hy + math.sin(a) * ry * 0.95), max(1, int(rx * 0.42)), look.hair, -1, AA)
    elif look.hair_style == "ponytail":
        cv2.ellipse(img, _pt(hx + rx * 0.9, hy + 0.2 * ry), (max(1, int(rx * 0.35)), max(1, int(ry * 0.8))), 20, 0, 360, look.hair, -1, AA)
    elif look.hair_style == "bun":
        cv2.circle(img, _pt(hx, hy - ry * 1.05), max(1, int(rx * 0.42)), look.hair, -1, AA)


def _draw_hair_front(img, look: Look, hx, hy, rx, ry) -> None:
    if look.hair_style != "bald":
        cv2.ellipse(img, _pt(hx, hy - 0.45 * ry), (int(rx * 1.03), int(ry * 0.66)), 0, 180, 360, look.hair, -1, AA)
    if look.hat is not None:
        cv2.ellipse(img, _pt(hx, hy - 0.55 * ry), (int(rx * 1.1), int(ry * 0.6)), 0, 180, 360, look.hat, -1, AA)
        cv2.rectangle(img, _pt(hx - rx * 1.35, hy - 0.6 * ry), _pt(hx + rx * 1.35, hy - 0.5 * ry), look.hat, -1)


def _draw_face(img: np.ndarray, p: Pose, hx: float, hy: float, rx: float, ry: float) -> None:
    look = p.look
    fx = hx + p.facing * 0.25 * rx
    v, a = max(-1.0, min(1.0, p.valence)), max(0.0, min(1.0, p.arousal))
    t = max(1, int(rx * 0.09))
    # eyes: openness grows with arousal; pupils follow the gaze
    ey = hy - 0.1 * ry
    er_x, er_y = max(1, int(rx * 0.2)), max(1, int(ry * (0.09 + 0.1 * a)))
    for side in (-1, 1):
        ex = fx + side * rx * 0.4
        if p.blink:
            cv2.line(img, _pt(ex - er_x, ey), _pt(ex + er_x, ey), PUPIL, t, AA)
        else:
            cv2.ellipse(img, _pt(ex, ey), (er_x, er_y), 0, 0, 360, EYE_WHITE, -1, AA)
            cv2.circle(img, _pt(ex + p.gaze * er_x * 0.55, ey), max(1, int(min(er_x, er_y) * 0.75)), PUPIL, -1, AA)
        # brows: anger pulls the inner ends down, sadness and fear lift them, surprise raises both
        angry = max(0.0, -v) * max(0.0, a - 0.45) * 2
        sad = max(0.0, -v) * max(0.0, 0.6 - a) * 2 + max(0.0, -v) * max(0.0, a - 0.75) * 1.5 * (1 - min(1.0, angry))
        lift = max(0.0, a - 0.7) * max(0.0, v + 0.2) * 2.5
        by = ey - ry * (0.28 + 0.12 * lift)
        inner = by + ry * 0.16 * (angry - sad)
        outer = by - ry * 0.04 * angry
        x_in, x_out = ex - side * er_x * 0.2, ex + side * er_x * 1.3
        cv2.line(img, _pt(x_in, inner), _pt(x_out, outer), _shade(look.hair, 0.6), max(1, int(rx * 0.12)), AA)
        if look.glasses:
            cv2.circle(img, _pt(ex, ey), int(er_x * 1.5), (30, 30, 30), max(1, t), AA)
    if look.glasses:
        cv2.line(img, _pt(fx - rx * 0.4 + er_x * 1.5, ey), _pt(fx + rx * 0.4 - er_x * 1.5, ey), (30, 30, 30), max(1, t), AA)
    # beard under the mouth
    my = hy + 0.5 * ry
    mw = rx * (0.5 + 0.15 * max(0.0, v))
    if look.beard:
        cv2.ellipse(img, _pt(hx, hy + 0.55 * ry), (int(rx * 0.7), int(ry * 0.45)), 0, 0, 180, _shade(look.hair, 0.85), -1, AA)
    # mouth: corners up for positive valence, down for negative; opening from the speech envelope
    curve = v * ry * 0.14
    open_px = max(0.0, min(1.0, p.mouth)) * ry * 0.42
    if open_px >= 1.0:
        cv2.ellipse(img, _pt(fx, my + open_px * 0.3), (max(1, int(mw * 0.8)), max(1, int(open_px))), 0, 0, 360, MOUTH_DARK, -1, AA)
        cv2.ellipse(img, _pt(fx, my + open_px * 0.3 - open_px * 0.45), (max(1, int(mw * 0.55)), max(1, int(open_px * 0.3))), 0, 0, 360, (235, 235, 230), -1, AA)
    pts = np.array([_pt(fx - mw, my - curve), _pt(fx - mw * 0.4, my + curve * 0.35), _pt(fx + mw * 0.4, my + curve * 0.35),
                    _pt(fx + mw, my - curve)], np.int32)
    cv2.polylines(img, [pts], False, LIPS if open_px < 1.0 else MOUTH_DARK, max(1, int(rx * 0.07)), AA)
    if look.moustache or look.beard:
        cv2.ellipse(img, _pt(fx, my - ry * 0.12), (int(mw * 1.05), max(1, int(ry * 0.08))), 0, 0, 360, look.hair, -1, AA)


def draw_back_view(img: np.ndarray, cx: float, top_y: float, h: float, look: Look) -> None:
    """The over-the-shoulder foreground: a listener's head and shoulders from behind, large and in shadow."""
    hair_src = look.hair if look.hair_style != "bald" else look.skin
    hair, rim = _shade(hair_src, 0.75), _shade(hair_src, 1.25)
    top, skin = _shade(look.top, 0.7), _shade(look.skin, 0.7)
    rx, ry = HEAD_RX * h, HEAD_RY * h
    hy = top_y + ry
    cv2.ellipse(img, _pt(cx, hy + 2.3 * ry), (int(rx * 2.8), int(ry * 1.5)), 0, 180, 360, top, -1, AA)
    cv2.rectangle(img, _pt(cx - rx * 2.8, hy + 2.3 * ry), _pt(cx + rx * 2.8, hy + 6 * ry), top, -1)
    cv2.rectangle(img, _pt(cx - rx * 0.45, hy + 0.5 * ry), _pt(cx + rx * 0.45, hy + 1.2 * ry), skin, -1)  # neck
    for side in (-1, 1):  # ears
        cv2.ellipse(img, _pt(cx + side * rx * 0.98, hy + 0.05 * ry), (max(1, int(rx * 0.16)), max(1, int(ry * 0.24))), 0, 0, 360, skin, -1, AA)
    if look.hair_style == "long":
        cv2.rectangle(img, _pt(cx - rx * 1.1, hy), _pt(cx + rx * 1.1, hy + 1.7 * ry), hair, -1)
    cv2.ellipse(img, _pt(cx, hy), (int(rx), int(ry)), 0, 0, 360, hair if look.hair_style != "bald" else skin, -1, AA)
    cv2.ellipse(img, _pt(cx, hy), (int(rx), int(ry)), 0, 200, 340, rim, max(1, int(rx * 0.08)), AA)  # back light on the crown
    if look.hair_style == "ponytail":
        cv2.ellipse(img, _pt(cx, hy + 1.1 * ry), (max(1, int(rx * 0.3)), max(1, int(ry * 0.75))), 0, 0, 360, hair, -1, AA)
    elif look.hair_style == "bun":
        cv2.circle(img, _pt(cx, hy - 0.55 * ry), max(1, int(rx * 0.45)), hair, -1, AA)
    if look.hat is not None:
        cv2.ellipse(img, _pt(cx, hy - 0.35 * ry), (int(rx * 1.1), int(ry * 0.75)), 0, 180, 360, _shade(look.hat, 0.7), -1, AA)
