"""Lighting and colour grade: brightness from time of day, setting and mood; tint and saturation from mood.

The grade is one per-channel lookup table plus a saturation factor, applied to every finished frame.
Lighting faults change only the luminance part (gain, gamma); colour faults only tint and saturation,
so a probe can tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scenes import MOOD_AFFECT, Brightness, Mood, Palette, Setting, TimeOfDay

TIME_GAIN = {TimeOfDay.dawn: 0.85, TimeOfDay.morning: 1.0, TimeOfDay.day: 1.05, TimeOfDay.afternoon: 1.0,
             TimeOfDay.dusk: 0.8, TimeOfDay.evening: 0.7, TimeOfDay.night: 0.6}
BRIGHTNESS_GAIN = {Brightness.dark: 0.5, Brightness.low: 0.68, Brightness.normal: 0.92, Brightness.bright: 1.1}
WARM = (1.1, 1.0, 0.84)
COOL = (0.84, 0.97, 1.14)


@dataclass(frozen=True)
class Grade:
    gain: float = 1.0
    gamma: float = 1.0
    contrast: float = 1.0
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    saturation: float = 1.0

    def lut(self) -> np.ndarray:
        x = np.arange(256, dtype=np.float32) / 255.0
        y = np.power(x, self.gamma)[:, None] * self.gain * np.array(self.tint, np.float32)[None, :]
        y = (y - 0.5) * self.contrast + 0.5
        return np.clip(y * 255.0 + 0.5, 0, 255).astype(np.uint8).reshape(1, 256, 3)

    def apply(self, frame: np.ndarray) -> np.ndarray:
        out = cv2.LUT(frame, self.lut_cached)
        if abs(self.saturation - 1.0) > 0.02:
            grey = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
            out = cv2.addWeighted(out, self.saturation, grey, 1.0 - self.saturation, 0.0)
        return out

    @property
    def lut_cached(self) -> np.ndarray:
        cached = self.__dict__.get("_lut")
        if cached is None:
            cached = self.lut()
            object.__setattr__(self, "_lut", cached)
        return cached


def mood_grade(setting: Setting, mood: Mood) -> Grade:
    """The grade a scene should have: lighting follows time, brightness and mood; colour follows palette and mood."""
    v, a = MOOD_AFFECT[mood]
    gain = BRIGHTNESS_GAIN[setting.brightness] if setting.brightness else TIME_GAIN[setting.time_of_day] * (1.0 - 0.18 * max(0.0, -v))
    gamma = 1.0 + 0.25 * max(0.0, -v)  # low-key: deeper shadows for unpleasant moods
    if setting.palette is Palette.warm or (setting.palette is None and v > 0.15):
        k = 1.0 if setting.palette is Palette.warm else min(1.0, v)
        tint = tuple(1 + (w - 1) * k for w in WARM)
    elif setting.palette is Palette.cool or (setting.palette is None and v < -0.15):
        k = 1.0 if setting.palette is Palette.cool else min(1.0, -v)
        tint = tuple(1 + (c - 1) * k for c in COOL)
    else:
        tint = (1.0, 1.0, 1.0)
    return Grade(gain=gain, gamma=gamma, contrast=1.0 + 0.15 * a, tint=tint, saturation=1.0 + 0.25 * v)


def lighting_conflict(g: Grade) -> Grade:
    """Luminance turned against the mood: dim scenes lit bright and flat, bright scenes sunk into darkness."""
    if g.gain * (1 / g.gamma) < 0.85:
        return Grade(gain=1.25, gamma=0.8, contrast=0.9, tint=g.tint, saturation=g.saturation)
    return Grade(gain=0.42, gamma=1.45, contrast=1.15, tint=g.tint, saturation=g.saturation)


def colour_conflict(g: Grade) -> Grade:
    """Colour turned against the mood: warm, saturated scenes go cold and grey; cold ones go candy-warm."""
    warmth = g.tint[0] - g.tint[2]
    if warmth >= 0 and g.saturation >= 1.0:
        return Grade(gain=g.gain, gamma=g.gamma, contrast=g.contrast, tint=(0.72, 0.95, 1.25), saturation=0.55)
    return Grade(gain=g.gain, gamma=g.gamma, contrast=g.contrast, tint=(1.22, 0.98, 0.72), saturation=1.5)


def blend(a: Grade, b: Grade, k: float) -> Grade:
    """Linear blend from grade a (k=0) to b (k=1): the mood-drift fault walks k up over the scene."""
    k = float(np.clip(k, 0.0, 1.0))
    mix = lambda x, y: x * (1 - k) + y * k
    return Grade(mix(a.gain, b.gain), mix(a.gamma, b.gamma), mix(a.contrast, b.contrast),
                 tuple(mix(x, y) for x, y in zip(a.tint, b.tint)), mix(a.saturation, b.saturation))


def opposite(g: Grade) -> Grade:
    """Both lighting and colour turned against the mood."""
    return colour_conflict(lighting_conflict(g))
