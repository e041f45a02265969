"""Frames: per shot, the set is painted once (far and mid layers); each frame crops it under the
camera (parallax: the far layer moves less), draws the characters, and applies the grade."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from generators.procedural.figure import Pose, draw_back_view, draw_figure
from generators.procedural.framing import ShotLayout, camera_at
from generators.procedural.grade import Grade
from generators.procedural.look import Look
from generators.procedural.performance import Acting
from generators.procedural.stage import Plate, SetDesign, paint_plate
from scenes import Angle, Movement, ShotSize

FAR_PARALLAX = 0.45
BLUR = {ShotSize.medium: 1.5, ShotSize.medium_close_up: 2.5, ShotSize.close_up: 3.5, ShotSize.extreme_close_up: 4.5}


@dataclass
class ShotArt:
    layout: ShotLayout
    plate: Plate
    looks: dict[str, Look]
    static_bg: np.ndarray | None


class Painter:
    repaint_every_frame = False  # benchmark baseline only: paint the set again for every frame

    def __init__(self, layouts: list[ShotLayout], designs: list[SetDesign], looks: list[dict[str, Look]],
                 acting: dict[str, Acting], mouth: dict[str, np.ndarray], grade_at: Callable[[float], Grade],
                 width: int, height: int, fps: float, n_frames: int, frozen: tuple[float, float] | None = None,
                 defocus_at: Callable[[float], float] | None = None):
        self.layouts, self.acting, self.mouth, self.grade_at = layouts, acting, mouth, grade_at
        self.defocus_at = defocus_at  # blur sigma (px) at time t: a focus hunt (fault), None = always sharp
        self.W, self.H, self.fps, self.n_frames, self.frozen = width, height, fps, n_frames, frozen
        self.arts: list[ShotArt] = []
        self._designs = designs
        for layout, design, look in zip(layouts, designs, looks):
            plate = paint_plate(design, width, height, layout.set_scale, layout.horizon * height, layout.cam_x,
                                blur=BLUR.get(layout.framed_size, 0.0))
            art = ShotArt(layout, plate, look, None)
            if layout.shot.movement is Movement.static and layout.jump_at is None and layout.unmotivated is None:
                art.static_bg = self._background(plate, 1.0, 0.0, 0.0)
            self.arts.append(art)
        self._luts: dict[Grade, np.ndarray] = {}

    def _background(self, plate: Plate, zoom: float, dx: float, dy: float) -> np.ndarray:
        W, H = self.W, self.H
        layers = []
        for img, k in ((plate.far, FAR_PARALLAX), (plate.mid, 1.0), (plate.mid_mask, 1.0)):
            cx, cy = W / 2, H / 2
            cw, ch = W / zoom, H / zoom
            x0 = plate.margin_x + cx - (cx + dx * W * k) / zoom
            y0 = plate.margin_y + cy - (cy + dy * H * k) / zoom
            x0 = min(max(0.0, x0), img.shape[1] - cw)
            y0 = min(max(0.0, y0), img.shape[0] - ch)
            xi, yi = int(round(x0)), int(round(y0))
            crop = img[yi:yi + int(round(ch)), xi:xi + int(round(cw))]
            if crop.shape[0] != H or crop.shape[1] != W:
                crop = cv2.resize(crop, (W, H), interpolation=cv2.INTER_LINEAR if img.ndim == 3 else cv2.INTER_NEAREST)
            layers.append(crop)
        far, mid, mask = layers
        out = far.copy()
        cv2.copyTo(mid, mask, out)
        return out

    def _direction(self, layout: ShotLayout, me: str, my_x: float, target: str | None, xs: dict[str, float]) -> float:
        if not target:
            return 0.0
        away = target.startswith("!away:")
        who = target.split(":", 1)[1] if away else target
        if who in xs and abs(xs[who] - my_x) > 1e-3:
            d = float(np.sign(xs[who] - my_x))
        else:
            d = float(np.sign(layout.stage_side.get(who, 0.0) - layout.stage_side.get(me, 0.0)))
        return -d if away else d

    def frame(self, k: int, art: ShotArt) -> np.ndarray:
        layout, W, H = art.layout, self.W, self.H
        if self.repaint_every_frame:
            plate = paint_plate(self._designs[layout.index], W, H, layout.set_scale, layout.horizon * H, layout.cam_x,
                                blur=BLUR.get(layout.framed_size, 0.0))
            art = ShotArt(layout, plate, art.looks, None)
        t = k / self.fps
        zoom, dx, dy = camera_at(layout, t, handheld_phase=layout.index * 1.7)
        img = art.static_bg.copy() if art.static_bg is not None else self._background(art.plate, zoom, dx, dy)
        cx, cy = W / 2, H / 2
        xs = {p.character: p.x for p in layout.placements}
        for p in sorted(layout.placements, key=lambda p: (p.back_view, p.h)):
            sx = cx + (p.x * W - cx) * zoom + dx * W
            look = art.looks[p.character]
            if p.back_view:
                top = cy + (p.head_top * H - cy) * zoom + dy * H
                draw_back_view(img, sx, top, p.h * H * zoom, look)
                continue
            a = self.acting[p.character]
            d = self._direction(layout, p.character, p.x, a.target[k], xs)
            feet = cy + ((p.head_top + p.h) * H - cy) * zoom + dy * H
            # breathing: a slow bob of a pixel or three, so a clean clip never holds a still picture for long
            phase = (sum(map(ord, p.character)) % 17) / 17 * 2 * np.pi
            if a.rigid is None or not a.rigid[k]:  # a robotic figure does not breathe
                feet += float(np.clip(0.006 * p.h * H * zoom, 1.6, 3.0)) * np.sin(2 * np.pi * t / 3.1 + phase)
            pose = Pose(cx=sx, feet_y=feet, h=p.h * H * zoom, look=look, facing=0.45 * d + 0.3 * float(a.shake[k]),
                        gaze=0.9 * d, mouth=float(self.mouth[p.character][k]), valence=float(a.valence[k]),
                        arousal=float(a.arousal[k]), arm_left=float(a.arm_left[k]), arm_right=float(a.arm_right[k]),
                        lean=float(a.lean[k]) * (d if d else 1.0), sit=float(a.sit[k]), nod=float(a.nod[k]),
                        blink=bool(a.blink[k]))
            if d < 0:  # the gesturing arm is the one toward the partner
                pose.arm_left, pose.arm_right = pose.arm_right, pose.arm_left
            draw_figure(img, pose)
        if layout.shot.angle is Angle.dutch:
            m = cv2.getRotationMatrix2D((cx, cy), 8.0, 1.15)
            img = cv2.warpAffine(img, m, (W, H), borderMode=cv2.BORDER_REFLECT)
        grade = self.grade_at(t)
        lut = self._luts.get(grade)
        if lut is None:
            lut = grade.lut()
            if len(self._luts) < 64:
                self._luts[grade] = lut
        out = cv2.LUT(img, lut)
        if abs(grade.saturation - 1.0) > 0.02:
            grey = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
            out = cv2.addWeighted(out, grade.saturation, grey, 1.0 - grade.saturation, 0.0)
        return out

    def frames(self) -> Iterator[np.ndarray]:
        shot = 0
        held: np.ndarray | None = None
        for k in range(self.n_frames):
            t = k / self.fps
            while shot + 1 < len(self.arts) and t >= self.arts[shot + 1].layout.start:
                shot += 1
            if self.frozen and self.frozen[0] <= t < self.frozen[1]:
                if held is None:
                    held = self.frame(k, self.arts[shot])
                yield held
                continue
            held = None
            out = self.frame(k, self.arts[shot])
            sigma = self.defocus_at(t) if self.defocus_at is not None else 0.0
            if sigma > 0.2:
                out = cv2.GaussianBlur(out, (0, 0), sigma)
            yield out
