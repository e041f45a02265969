"""Framing each shot: where the subjects stand on screen, how big, where the horizon sits, how the camera moves.

Screen sides come from one stable left-to-right order per scene (the order in which characters first
appear in shot subject lists), so two-shots and singles keep every character on their side of the
line across cuts; singles sit off-centre on their side, which gives shot/reverse-shot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from generators.procedural.figure import HEAD_RX
from scenes import Angle, Movement, Scene, Shot, ShotSize

# figure height (in frame heights), head-top position, set scale (world -> frame)
SIZES: dict[ShotSize, tuple[float, float, float]] = {
    ShotSize.extreme_wide: (0.26, 0.58, 0.75),
    ShotSize.wide: (0.56, 0.36, 1.0),
    ShotSize.full: (0.82, 0.1, 1.25),
    ShotSize.medium: (1.55, 0.1, 1.7),
    ShotSize.medium_close_up: (2.2, 0.08, 2.1),
    ShotSize.close_up: (3.3, 0.06, 2.7),
    ShotSize.extreme_close_up: (5.0, -0.12, 3.4),
}


CROWD_HEIGHT = (1.8, 0.08)  # several people in a close size are squeezed in at a medium-close size


def framed_height(size: ShotSize, shot: Shot) -> float:
    """Figure height (frame heights) a shot framed at `size` gives its front figures."""
    h = SIZES[size][0]
    crowd = len(shot.subjects) >= 2 and shot.angle is not Angle.over_shoulder
    return CROWD_HEIGHT[0] if crowd and h >= 2.0 else h


def stage_order(scene: Scene) -> list[str]:
    """Characters left to right, as they first appear in the shots' subject lists."""
    order: list[str] = []
    for shot in scene.shots:
        for c in shot.subjects:
            if c not in order:
                order.append(c)
    order += [c.id for c in scene.characters if c.id not in order]
    return order


@dataclass
class Placement:
    character: str
    x: float                  # screen x, 0..1
    h: float                  # figure height in frame heights
    head_top: float           # frame heights
    back_view: bool = False   # over-the-shoulder foreground


@dataclass
class ShotLayout:
    index: int
    shot: Shot
    start: float
    end: float
    placements: list[Placement]
    horizon: float            # frame heights
    set_scale: float
    cam_x: float              # world x the camera points at
    mirrored: bool = False
    jump_at: float | None = None
    stage_side: dict[str, float] = field(default_factory=dict)
    unmotivated: str | None = None    # an unscripted camera move in a still shot: drift | shake | creep
    unmotivated_amount: float = 0.0   # its size, 0..1 (the fault's severity)
    size: ShotSize | None = None      # the size it is framed at (None: the script's; a wrong-size fault)

    @property
    def framed_size(self) -> ShotSize:
        return self.size or self.shot.size

    def positions(self) -> dict[str, float]:
        return {p.character: round(p.x, 4) for p in self.placements}


def _xs(n: int) -> list[float]:
    return {1: [0.5], 2: [0.32, 0.68], 3: [0.2, 0.5, 0.8]}.get(n, list(np.linspace(0.14, 0.86, n)))


def layout_shot(scene: Scene, index: int, start: float, end: float, order: list[str], mirrored: bool,
                speaker: str | None, size: ShotSize | None = None) -> ShotLayout:
    """Where shot `index`'s subjects stand and how big, at the script's size or at `size` (a wrong-size fault)."""
    shot = scene.shots[index]
    rank = {c: i for i, c in enumerate(order)}
    side = {c: (i - (len(order) - 1) / 2) / max(1, len(order) - 1) for c, i in rank.items()}  # -0.5..0.5
    h, top, scale = SIZES[size or shot.size]
    subjects = sorted(shot.subjects, key=lambda c: rank[c])
    placements: list[Placement] = []
    if shot.angle is Angle.over_shoulder and len(subjects) >= 2:
        front = speaker if speaker in subjects else subjects[0]
        back = next(c for c in subjects if c != front)
        fx = 0.5 + (0.14 if side[front] >= side[back] else -0.14)
        bx = 0.5 + (0.38 if side[back] > side[front] else -0.38)
        placements.append(Placement(front, fx, max(h, 1.2), max(top, 0.1) if h < 1.2 else top))
        placements.append(Placement(back, bx, 2.6, 0.32, back_view=True))
    elif len(subjects) == 1:
        c = subjects[0]
        offset = 0.0 if abs(side[c]) < 1e-6 or len(order) == 1 else math.copysign(0.11, side[c])
        placements.append(Placement(c, 0.5 + offset, h, top))
    else:
        xs = _xs(len(subjects))
        if h >= 2.0:  # close framings of several people: squeeze them in at a medium-close size
            h, top = CROWD_HEIGHT
        for c, x in zip(subjects, xs):
            placements.append(Placement(c, x, h, top))
    if mirrored:
        for p in placements:
            p.x = 1.0 - p.x
    front = [p for p in placements if not p.back_view] or placements
    eye = front[0].head_top + front[0].h * 0.09
    horizon = eye + {Angle.high: -0.22, Angle.low: 0.25}.get(shot.angle, 0.0)
    cam_x = float(np.mean([side[p.character] for p in placements])) * 0.9
    return ShotLayout(index, shot, start, end, placements, horizon, scale, cam_x, mirrored,
                      stage_side={c: (-s if mirrored else s) for c, s in side.items()}, size=size)


EDGE_HEAD_RADII = 2.2  # a figure pushed aside keeps its head this many head radii inside the frame ...
EDGE_MAX_OFFSET = 0.38  # ... and its centre at most this far (frame widths) from the frame's centre


def push_to_edge(layout: ShotLayout, direction: float, amount: float, aspect: float) -> None:
    """Move a single's figure toward the frame's left (-1) or right (+1) edge, `amount` (0..1) of the way from
    where it stands to `EDGE_MAX_OFFSET` from the centre or `EDGE_HEAD_RADII` head radii from the edge, whichever
    is nearer the centre (`aspect`: frame height / width)."""
    p = layout.placements[0]
    head = HEAD_RX * p.h * aspect  # head radius in frame widths
    edge = 0.5 + direction * min(EDGE_MAX_OFFSET, 0.5 - EDGE_HEAD_RADII * head)
    p.x = p.x + amount * (edge - p.x)


def camera_at(layout: ShotLayout, t: float, handheld_phase: float = 0.0) -> tuple[float, float, float]:
    """(zoom, dx, dy) at time t: dx, dy in frame widths/heights, content moves by (dx, dy)."""
    u = (t - layout.start) / max(1e-3, layout.end - layout.start)
    u = min(1.0, max(0.0, u))
    s = u * u * (3 - 2 * u)
    m = layout.shot.movement
    zoom, dx, dy = 1.0, 0.0, 0.0
    if m is Movement.push_in:
        zoom = 1.0 + 0.3 * s
    elif m is Movement.pull_out:
        zoom = 1.3 - 0.3 * s
    elif m is Movement.pan_left:
        dx = -0.1 + 0.2 * s
    elif m is Movement.pan_right:
        dx = 0.1 - 0.2 * s
    elif m is Movement.tilt_up:
        dy = -0.06 + 0.12 * s
    elif m is Movement.tilt_down:
        dy = 0.06 - 0.12 * s
    elif m is Movement.handheld:
        dx = 0.006 * math.sin(2.1 * t + handheld_phase) + 0.003 * math.sin(5.3 * t)
        dy = 0.005 * math.sin(1.7 * t + 1.3 * handheld_phase)
    if layout.unmotivated is not None:
        zoom, dx, dy = _unmotivated(layout, t, u, zoom, dx, dy)
    if layout.jump_at is not None and t >= layout.jump_at:
        zoom *= 1.1
        dx += 0.035
    return zoom, dx, dy


def _unmotivated(layout: ShotLayout, t: float, u: float, zoom: float, dx: float, dy: float) -> tuple[float, float, float]:
    """An unscripted camera move over a shot the script holds still: a steady drift across (8-14 % of the
    frame's width, plus a little down), a shake 4-8 times a hand-held camera's, or a slow creep in (zoom
    1.12-1.22). Unlike the scripted moves it is not eased: the camera wanders from the first frame."""
    a = layout.unmotivated_amount
    side = 1.0 if layout.index % 2 else -1.0
    if layout.unmotivated == "drift":
        travel = 0.08 + 0.06 * a
        return zoom, dx + side * travel * (u - 0.5), dy + 0.3 * travel * (u - 0.5)
    if layout.unmotivated == "shake":
        k = 4.0 + 4.0 * a
        return (zoom, dx + k * (0.006 * math.sin(2.3 * t + layout.index) + 0.003 * math.sin(6.1 * t)),
                dy + k * 0.005 * math.sin(1.9 * t + 0.7 * layout.index))
    if layout.unmotivated == "creep":
        return zoom * (1.0 + (0.12 + 0.1 * a) * u), dx, dy
    raise ValueError(f"unknown unmotivated camera move {layout.unmotivated!r}")
