"""The set: a location drawn in depth layers (back wall or sky, midground furniture or trees, floor).

World coordinates: x in frame widths from the room centre, y in frame heights below the horizon
(negative = above). A shot paints the set once at its own scale and camera x; frames then crop it.
"""

from __future__ import annotations

import colorsys
import hashlib
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from scenes import Atmosphere, Setting, TimeOfDay

AA = cv2.LINE_AA
RGB = tuple[int, int, int]

SKY: dict[TimeOfDay, tuple[RGB, RGB]] = {  # (top, horizon)
    TimeOfDay.dawn: ((120, 130, 190), (250, 180, 150)),
    TimeOfDay.morning: ((130, 180, 235), (215, 230, 240)),
    TimeOfDay.day: ((70, 140, 225), (190, 220, 245)),
    TimeOfDay.afternoon: ((90, 150, 220), (235, 220, 190)),
    TimeOfDay.dusk: ((70, 60, 130), (245, 140, 80)),
    TimeOfDay.evening: ((30, 35, 80), (110, 80, 120)),
    TimeOfDay.night: ((8, 10, 30), (30, 35, 70)),
}
NIGHTLIKE = {TimeOfDay.evening, TimeOfDay.night}

INTERIOR_KINDS = {
    "kitchen": ("kitchen",), "cafe": ("cafe", "restaurant", "diner", "bar", "pub", "canteen", "bakery"),
    "office": ("office", "studio", "lab", "laboratory", "classroom", "library", "shop", "store", "studio"),
    "bedroom": ("bedroom", "hospital", "ward", "hotel", "motel"),
    "living": ("living", "apartment", "flat", "lounge", "house", "home", "hall", "room", "attic", "basement"),
    "car": ("car", "train", "bus", "taxi", "carriage"),
}
EXTERIOR_KINDS = {
    "park": ("park", "garden", "forest", "woods", "field", "meadow", "yard", "farm", "countryside", "camp"),
    "beach": ("beach", "sea", "harbour", "harbor", "pier", "lake", "river", "shore", "dock", "boat"),
    "street": ("street", "city", "alley", "road", "rooftop", "square", "station", "platform", "parking", "bridge", "market"),
}


@dataclass(frozen=True)
class Prim:
    """One drawn shape in world coordinates; `layer` is far (moves least under a pan) or mid."""

    kind: str                 # rect | ellipse | poly | circle | line
    pts: tuple[tuple[float, float], ...]
    colour: RGB
    layer: str = "mid"
    thickness: float = 0.0    # 0 = filled; else world-height units


@dataclass(frozen=True)
class SetDesign:
    interior: bool
    kind: str
    time: TimeOfDay
    wall: RGB
    floor: RGB
    base_y: float             # wall/floor boundary (or far ground line) below the horizon
    prims: tuple[Prim, ...] = field(default_factory=tuple)
    rain: bool = False


def _h(text: str) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little"))


def _kind(location: str, interior: bool) -> str:
    words = location.lower()
    table = INTERIOR_KINDS if interior else EXTERIOR_KINDS
    for kind, keys in table.items():
        if any(k in words for k in keys):
            return kind
    return "living" if interior else "park"


def _jitter(c: RGB, rng: np.random.Generator, amount: int = 18) -> RGB:
    return tuple(int(np.clip(v + rng.integers(-amount, amount + 1), 0, 255)) for v in c)


def design_set(setting: Setting, atmosphere: Atmosphere, key: str) -> SetDesign:
    """The set for a scene: kind from the location words, colours and layout from the key's hash."""
    rng = _h(key + "|" + setting.location)
    kind = _kind(setting.location, setting.interior)
    rain = any("rain" in a.lower() for a in atmosphere.ambience)
    prims: list[Prim] = []
    t = setting.time_of_day
    if setting.interior:
        wall = _jitter({"kitchen": (214, 206, 180), "cafe": (170, 120, 90), "office": (196, 204, 210), "bedroom": (190, 180, 210),
                        "living": (200, 175, 150), "car": (90, 90, 100)}[kind], rng)
        floor = _jitter({"kitchen": (150, 130, 110), "cafe": (110, 80, 60), "office": (120, 120, 125), "bedroom": (150, 120, 100),
                         "living": (135, 100, 75), "car": (60, 60, 66)}[kind], rng)
        base_y = 0.12
        wx = float(rng.uniform(-0.9, -0.3)) if rng.random() < 0.5 else float(rng.uniform(0.3, 0.9))
        prims += _window(wx, -0.28, 0.36, 0.3, t)
        prims.append(Prim("rect", ((-wx * 0.8 - 0.1, -0.38), (-wx * 0.8 + 0.1, -0.2)), _jitter((120, 90, 60), rng, 40), "far"))  # a picture
        prims.append(Prim("rect", ((-wx * 0.8 - 0.085, -0.365), (-wx * 0.8 + 0.085, -0.215)), _jitter((90, 140, 170), rng, 60), "far"))
        if kind == "kitchen":
            wood = _jitter((150, 110, 80), rng)
            prims += [Prim("rect", ((-1.25, -0.04), (-0.3, base_y)), _jitter((120, 95, 75), rng), "far"),
                      Prim("rect", ((-1.27, -0.07), (-0.28, -0.04)), (225, 225, 218), "far"),
                      Prim("rect", ((0.5, -0.55), (0.78, base_y)), (232, 234, 236), "far"),
                      Prim("line", ((0.54, -0.3), (0.54, -0.12)), (150, 150, 150), "far", 0.01),
                      Prim("line", ((0.5, -0.33), (0.78, -0.33)), (190, 192, 196), "far", 0.006)]
            prims += [Prim("rect", ((x, -0.6), (x + 0.29, -0.4)), wood, "far") for x in (-1.25, -0.93, -0.61)]
            prims += [Prim("circle", ((x + 0.25, -0.45), (0.008, 0.0)), (60, 50, 40), "far") for x in (-1.25, -0.93, -0.61)]
            prims.append(Prim("rect", ((-0.3, 0.35), (0.3, 0.42)), _jitter((170, 130, 90), rng), "mid"))  # table
        elif kind == "cafe":
            for x in (-1.2, -0.5, 0.2, 0.9):
                prims += [Prim("line", ((x, -0.7), (x, -0.45)), (40, 40, 40), "far", 0.006),
                          Prim("ellipse", ((x, -0.45), (0.07, 0.04)), (250, 220, 140), "far")]
            prims.append(Prim("rect", ((-1.6, -0.05), (1.6, base_y)), _jitter((90, 60, 40), rng), "far"))
            prims += [Prim("ellipse", ((x, 0.38), (0.16, 0.035)), (200, 190, 175), "mid") for x in (-0.75, 0.75)]
        elif kind == "office":
            prims += [Prim("rect", ((x, -0.5), (x + 0.35, base_y)), _jitter((140, 110, 80), rng), "far") for x in (-1.3, 1.0)]
            prims += [Prim("rect", ((x + 0.03, -0.5 + k * 0.12), (x + 0.32, -0.47 + k * 0.12)), _jitter((160, 60, 50), rng, 80), "far")
                      for x in (-1.3, 1.0) for k in range(4)]
            prims += [Prim("rect", ((-0.35, 0.3), (0.35, 0.38)), (110, 90, 70), "mid"),
                      Prim("rect", ((-0.12, 0.12), (0.12, 0.3)), (40, 40, 45), "mid")]
        elif kind == "bedroom":
            prims += [Prim("rect", ((0.6, -0.05), (1.4, 0.25)), _jitter((230, 230, 240), rng), "mid"),
                      Prim("rect", ((0.6, -0.2), (0.68, 0.25)), (120, 90, 70), "mid")]
        elif kind == "car":
            prims += [Prim("rect", ((-1.6, -0.5), (1.6, -0.1)), SKY[t][1], "far"),
                      Prim("rect", ((-1.6, -0.52), (1.6, -0.47)), (50, 50, 55), "far")]
        else:
            prims += [Prim("rect", ((-1.2, -0.05), (-0.55, 0.2)), _jitter((120, 60, 60), rng, 40), "mid"),
                      Prim("rect", ((-1.25, -0.12), (-0.5, -0.03)), _jitter((110, 55, 55), rng, 40), "mid"),
                      Prim("line", ((0.9, -0.35), (0.9, 0.2)), (60, 60, 60), "mid", 0.008),
                      Prim("ellipse", ((0.9, -0.38), (0.07, 0.05)), (250, 230, 170), "mid")]
        prims.append(Prim("rect", ((-0.2 - wx * 0.3, -0.5), (0.05 - wx * 0.3, base_y)), _jitter((130, 100, 70), rng), "far"))  # door
    else:
        wall, base_y = SKY[t][1], 0.0
        floor = _jitter({"park": (90, 150, 70), "beach": (225, 205, 160), "street": (120, 120, 125)}[kind], rng, 10)
        if t in NIGHTLIKE:
            floor = tuple(int(c * 0.45) for c in floor)
            prims.append(Prim("circle", ((0.6, -0.55), (0.05, 0.0)), (235, 235, 210), "far"))
        else:
            prims.append(Prim("circle", ((-0.7, -0.5), (0.06, 0.0)), (255, 245, 200) if t is not TimeOfDay.dusk else (255, 170, 90), "far"))
        if kind == "park":
            prims += [Prim("ellipse", ((x, 0.0), (0.5, 0.12)), _jitter((70, 120, 70), rng), "far") for x in (-1.2, -0.2, 0.9)]
            for x in rng.uniform(-1.5, 1.5, 5):
                prims += [Prim("rect", ((x - 0.02, -0.15), (x + 0.02, 0.15)), (100, 70, 45), "mid"),
                          Prim("circle", ((x, -0.22), (0.13, 0.0)), _jitter((50, 120, 50), rng, 25), "mid")]
            prims += [Prim("rect", ((-0.35, 0.25), (0.35, 0.29)), (120, 85, 55), "mid")]
        elif kind == "beach":
            prims += [Prim("rect", ((-2, -0.01), (2, 0.08)), _jitter((40, 100, 160), rng), "far")]
            prims += [Prim("line", ((x, 0.02), (x + 0.08, 0.02)), (230, 240, 250), "far", 0.005) for x in rng.uniform(-1.5, 1.5, 8)]
        else:
            for x in np.arange(-1.6, 1.6, 0.3):
                top = -float(rng.uniform(0.25, 0.75))
                colour = _jitter((110, 100, 110), rng, 30)
                prims.append(Prim("rect", ((x, top), (x + 0.28, 0.02)), colour, "far"))
                lit = (250, 220, 130) if t in NIGHTLIKE else (170, 200, 220)
                prims += [Prim("rect", ((x + 0.04 + 0.08 * i, top + 0.06 + 0.1 * j), (x + 0.09 + 0.08 * i, top + 0.11 + 0.1 * j)), lit, "far")
                          for i in range(3) for j in range(int((-top) / 0.1) - 1) if rng.random() < 0.6]
            prims += [Prim("line", ((x, -0.35), (x, 0.2)), (50, 50, 55), "mid", 0.008) for x in (-1.0, 1.1)]
    return SetDesign(setting.interior, kind, t, wall, floor, base_y, tuple(prims), rain)


def _pane_colour(t: TimeOfDay) -> RGB:
    top, low = SKY[t]
    return tuple((a + b) // 2 for a, b in zip(top, low))


def _window(x: float, y: float, w: float, h: float, t: TimeOfDay) -> list[Prim]:
    frame = (235, 230, 220)
    return [Prim("rect", ((x - w / 2 - 0.015, y - h / 2 - 0.02), (x + w / 2 + 0.015, y + h / 2 + 0.02)), frame, "far"),
            Prim("rect", ((x - w / 2, y - h / 2), (x + w / 2, y + h / 2)), _pane_colour(t), "far"),
            Prim("line", ((x, y - h / 2), (x, y + h / 2)), frame, "far", 0.012),
            Prim("line", ((x - w / 2, y), (x + w / 2, y)), frame, "far", 0.012)]


def drifted(design: SetDesign, key: str) -> SetDesign:
    """The same set, visibly changed (wall hue turned, furniture moved): the backdrop-drift fault."""
    rng = _h(key)
    r, g, b = (c / 255 for c in design.wall)
    hh, ll, ss = colorsys.rgb_to_hls(r, g, b)
    wall = tuple(int(255 * c) for c in colorsys.hls_to_rgb((hh + 0.45) % 1.0, min(0.8, ll), max(0.45, ss)))
    shift = float(rng.choice([-0.7, 0.7]))
    prims = tuple(replace(p, pts=tuple((x + shift, y) for x, y in p.pts) if p.kind != "ellipse" or p.layer == "mid" else p.pts)
                  if p.layer == "mid" or (p.kind == "rect" and rng.random() < 0.5) else p for p in design.prims)
    prims = tuple(replace(p, pts=((p.pts[0][0] + shift, p.pts[0][1]), p.pts[1])) if p.kind in ("ellipse", "circle") else p for p in prims)
    return replace(design, wall=wall if design.interior else design.wall, prims=prims,
                   floor=tuple(int(c * 0.7) for c in design.floor))


@dataclass(frozen=True)
class Plate:
    """A shot's painted set: far and mid layers (with the mid mask) on a canvas wider than the frame."""

    far: np.ndarray
    mid: np.ndarray
    mid_mask: np.ndarray
    margin_x: int
    margin_y: int


def paint_plate(design: SetDesign, width: int, height: int, scale: float, horizon_px: float, cam_x: float,
                margin: float = 0.25, blur: float = 0.0) -> Plate:
    """Paint the set for one shot at `scale` (frame widths per world unit) around camera x `cam_x`."""
    mx, my = int(width * margin), int(height * margin * 0.6)
    cw, ch = width + 2 * mx, height + 2 * my
    hz = horizon_px + my

    def sx(x: float) -> int:
        return int(round(cw / 2 + (x - cam_x) * scale * width))

    def sy(y: float) -> int:
        return int(round(hz + y * scale * height))

    far = np.empty((ch, cw, 3), np.uint8)
    base = min(ch, max(0, sy(design.base_y)))
    if design.interior:
        far[:base] = design.wall
        # a soft vertical gradient on the wall reads as light falling from above
        if base > 0:
            ramp = np.linspace(1.05, 0.85, base, dtype=np.float32)[:, None, None]
            far[:base] = np.clip(far[:base].astype(np.float32) * ramp, 0, 255).astype(np.uint8)
    else:
        top, low = SKY[design.time]
        ys = np.clip((np.arange(ch, dtype=np.float32) - (hz - 0.8 * scale * height)) / max(1.0, 0.8 * scale * height), 0, 1)
        grad = (np.array(top, np.float32)[None] * (1 - ys[:, None]) + np.array(low, np.float32)[None] * ys[:, None]).astype(np.uint8)
        far[:] = grad[:, None, :]
    far[base:] = design.floor
    if base < ch:  # floor darkens toward the camera
        ramp = np.linspace(1.0, 0.7, ch - base, dtype=np.float32)[:, None, None]
        far[base:] = np.clip(far[base:].astype(np.float32) * ramp, 0, 255).astype(np.uint8)
    mid = np.zeros_like(far)
    for p in design.prims:
        img = far if p.layer == "far" else mid
        _draw_prim(img, p, sx, sy, scale * height)
    b0, b1, b2 = cv2.split(mid)
    mid_mask = (cv2.max(cv2.max(b0, b1), b2) > 0).astype(np.uint8)
    if design.rain:  # streaks over the sky outdoors, inside the window panes indoors
        rng = _h("rain")
        panes = [p for p in design.prims if p.kind == "rect" and p.layer == "far" and p.colour == _pane_colour(design.time)]
        boxes = [(sx(p.pts[0][0]), sy(p.pts[0][1]), sx(p.pts[1][0]), sy(p.pts[1][1])) for p in panes] if design.interior else [(0, 0, cw, ch)]
        for x0, y0, x1, y1 in boxes:
            n = max(8, int(120 * (x1 - x0) * (y1 - y0) / (cw * ch)))
            for x, y in zip(rng.uniform(x0 + 2, max(x0 + 3, x1 - 2), n), rng.uniform(y0, max(y0 + 1, y1 - 12), n)):
                cv2.line(far, (int(x), int(y)), (int(x - 2), int(y + 10)), (175, 185, 205), 1, AA)
    if blur > 0.5:  # depth of field: close shots keep the background soft
        k = int(blur) * 2 + 1
        far = cv2.GaussianBlur(far, (k, k), 0)
        mid = cv2.GaussianBlur(mid, (k, k), 0)
    return Plate(far, mid, mid_mask, mx, my)


def _draw_prim(img: np.ndarray, p: Prim, sx, sy, unit: float) -> None:
    if p.kind == "rect":
        (x0, y0), (x1, y1) = p.pts
        cv2.rectangle(img, (sx(x0), sy(y0)), (sx(x1), sy(y1)), p.colour, -1)
    elif p.kind == "ellipse":
        (x, y), (rx, ry) = p.pts
        w = abs(sx(x + rx) - sx(x))
        cv2.ellipse(img, (sx(x), sy(y)), (max(1, w), max(1, int(ry * unit))), 0, 0, 360, p.colour, -1, AA)
    elif p.kind == "circle":
        (x, y), (r, _) = p.pts
        cv2.circle(img, (sx(x), sy(y)), max(1, int(r * unit)), p.colour, -1, AA)
    elif p.kind == "line":
        (x0, y0), (x1, y1) = p.pts
        cv2.line(img, (sx(x0), sy(y0)), (sx(x1), sy(y1)), p.colour, max(1, int(p.thickness * unit)), AA)
    elif p.kind == "poly":
        pts = np.array([(sx(x), sy(y)) for x, y in p.pts], np.int32)
        cv2.fillPoly(img, [pts], p.colour, AA)
