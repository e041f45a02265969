"""Kinds of scripted sound: what a cue text asks for, as a listener would describe it.

The scripted-sound probe (`cues.py`) reads each kind in its own way; this is its vocabulary: how
long each kind lasts and, for tonal kinds, where its partials lie (`CUE_KINDS`), the words that
name it (`CUE_WORDS`, `cue_kind`) and which kinds sound alike (`CUE_FAMILIES`).
"""

from __future__ import annotations

import re

# Each kind of scripted sound as a listener would describe it: how long it lasts (s) and, for tonal
# kinds, the frequencies of its partials (Hz; decision 108).
CUE_KINDS: dict[str, tuple[float, tuple[float, ...]]] = {
    "impact": (0.3, ()),  # a thump under a noise burst (slam, bang, crash, thud)
    "gunshot": (0.8, ()),
    "knock": (0.5, ()),
    "glass": (0.6, ()),  # a hit and bright tinkles
    "metal": (0.4, ()),  # a hit with ringing mid-high partials
    "click": (0.1, ()),
    "hiss": (0.8, ()),
    "applause": (1.5, ()),
    "thunder": (1.0, ()),  # a crack, then a low rumble
    "footsteps": (1.8, ()),  # soft low thumps, 0.5 s apart
    "bark": (0.7, ()),
    "bell": (1.0, (880.0, 2430.0, 4750.0)),  # A5 bell, inharmonic partials
    "doorbell": (1.0, (525.0, 660.0, 1445.0, 1810.0)),  # ding-dong, two bells a third apart
    "phone": (1.0, (440.0, 480.0)),  # the 440 + 480 Hz ring
    "horn": (0.6, (400.0, 500.0, 1200.0, 1500.0)),  # two buzzy tones (odd harmonics)
    "whistle": (0.8, (3000.0,)),
    "alarm": (1.0, (3100.0,)),  # 3.1 kHz beeps
    "buzz": (0.8, (150.0, 450.0, 750.0)),  # 150 Hz buzzer (odd harmonics)
}
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
# Kinds that sound alike share evidence on which readings tell them: thumps (an impact's low
# thump), bright noise (bursts above 2 kHz), tones (partials over their neighbourhood) and the bark.
CUE_FAMILIES: dict[str, str] = {
    **dict.fromkeys(("impact", "gunshot", "knock", "thunder", "footsteps", "metal"), "thump"),
    **dict.fromkeys(("glass", "hiss", "applause", "click"), "bright"),
    **dict.fromkeys(("bell", "doorbell", "phone", "horn", "whistle", "alarm", "buzz"), "tone"),
    "bark": "bark",
}


def cue_kind(text: str) -> str:
    """The kind of sound a cue text describes ("impact" when no word matches)."""
    low = text.lower()
    for kind, words in CUE_WORDS:
        if any(re.search(rf"\b{w}", low) for w in words):
            return kind
    return "impact"
