"""A character's drawn look, read from the `look` text ("tall, red coat, short dark hair") plus a hash."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

RGB = tuple[int, int, int]

COLOURS: dict[str, RGB] = {
    "red": (196, 40, 46), "crimson": (160, 20, 40), "maroon": (110, 30, 40), "burgundy": (120, 25, 50),
    "orange": (232, 120, 36), "yellow": (236, 200, 50), "mustard": (200, 160, 40), "gold": (212, 170, 60),
    "green": (52, 140, 70), "olive": (110, 120, 50), "teal": (30, 130, 130), "mint": (150, 220, 180),
    "blue": (46, 90, 190), "navy": (30, 40, 90), "turquoise": (60, 190, 200), "purple": (120, 60, 160),
    "violet": (140, 90, 200), "pink": (236, 130, 170), "white": (235, 235, 232), "cream": (240, 228, 200),
    "beige": (210, 190, 160), "tan": (190, 150, 100), "brown": (120, 80, 45), "khaki": (170, 160, 110),
    "grey": (128, 128, 132), "gray": (128, 128, 132), "silver": (180, 182, 190), "black": (34, 34, 38),
    "charcoal": (60, 60, 66), "denim": (70, 100, 150),
}
HAIR_COLOURS: dict[str, RGB] = {
    "dark": (40, 30, 25), "black": (25, 22, 22), "brown": (95, 60, 35), "blond": (220, 190, 110),
    "blonde": (220, 190, 110), "red": (170, 70, 30), "ginger": (190, 90, 40), "auburn": (140, 55, 35),
    "grey": (165, 165, 165), "gray": (165, 165, 165), "white": (230, 230, 225), "silver": (200, 200, 205),
    "fair": (210, 180, 120),
}
SKIN_TONES: list[RGB] = [(250, 214, 180), (234, 192, 150), (205, 150, 110), (170, 115, 80), (120, 80, 55), (90, 60, 40)]
TOPS = ("coat", "jacket", "sweater", "jumper", "hoodie", "shirt", "blouse", "dress", "suit", "uniform", "apron",
        "cardigan", "t-shirt", "tshirt", "vest", "robe", "overalls", "scarf", "top", "blazer", "parka")
BUILDS = {"tall": (1.06, 0.95), "short": (0.9, 1.0), "stocky": (0.97, 1.25), "broad": (1.0, 1.2), "heavy": (0.97, 1.3),
          "slim": (1.0, 0.85), "thin": (1.0, 0.8), "slender": (1.02, 0.82), "small": (0.88, 0.9), "petite": (0.88, 0.85),
          "old": (0.96, 1.0), "elderly": (0.94, 1.0), "young": (1.0, 0.95), "child": (0.7, 0.85), "kid": (0.7, 0.85)}


@dataclass(frozen=True)
class Look:
    """Everything the painter needs about one character; colours are RGB."""

    height: float = 1.0       # relative figure height
    width: float = 1.0        # relative body width
    skin: RGB = SKIN_TONES[1]
    top: RGB = (90, 90, 120)
    top_kind: str = "shirt"
    legs: RGB = (50, 55, 70)
    hair: RGB = HAIR_COLOURS["brown"]
    hair_style: str = "short"  # short | long | curly | ponytail | bun | bald
    beard: bool = False
    moustache: bool = False
    glasses: bool = False
    hat: RGB | None = None


def _hash_ints(text: str, n: int) -> list[int]:
    digest = hashlib.sha256(text.encode()).digest()
    return [digest[i] for i in range(n)]


def _colour_before(words: list[str], index: int, table: dict[str, RGB]) -> RGB | None:
    """The colour word closest before position `index` (within 3 words), e.g. 'dark' in 'short dark hair'."""
    for j in range(index - 1, max(-1, index - 4), -1):
        if words[j] in table:
            return table[words[j]]
    return None


def parse_look(look: str, key: str = "") -> Look:
    """Keywords first (build, clothes and their colours, hair, beard, glasses, hat), the hash for the rest."""
    words = re.findall(r"[a-z\-]+", look.lower())
    h = _hash_ints(key + "|" + look, 8)
    out = Look(
        skin=SKIN_TONES[h[0] % len(SKIN_TONES)],
        top=list(COLOURS.values())[h[1] % len(COLOURS)],
        legs=[(50, 55, 70), (70, 60, 50), (40, 40, 44), (90, 100, 120), (110, 95, 70)][h[2] % 5],
        hair=[HAIR_COLOURS[k] for k in ("dark", "black", "brown", "blond", "auburn", "brown", "dark", "red")][h[3] % 8],
        hair_style=["short", "long", "curly", "short", "bun"][h[4] % 5],
    )
    height, width = 1.0 + (h[5] % 9 - 4) / 100, 1.0 + (h[6] % 9 - 4) / 80
    top_set = False
    for i, w in enumerate(words):
        if w in BUILDS:
            height, width = BUILDS[w][0] * height, BUILDS[w][1] * width
        if w in TOPS or w.rstrip("s") in TOPS:
            colour = _colour_before(words, i, COLOURS)
            if not top_set:
                out = replace(out, top_kind=w.rstrip("s"), top=colour or out.top)
                top_set = True
            elif colour is not None and w in ("trousers", "jeans", "skirt"):
                out = replace(out, legs=colour)
        if w in ("trousers", "jeans", "skirt", "pants", "shorts"):
            colour = _colour_before(words, i, COLOURS) or ((70, 100, 150) if w == "jeans" else None)
            if colour is not None:
                out = replace(out, legs=colour)
        if w == "hair":
            colour = _colour_before(words, i, HAIR_COLOURS)
            if colour is not None:
                out = replace(out, hair=colour)
            near = words[max(0, i - 3):i]
            if "long" in near:
                out = replace(out, hair_style="long")
            if "curly" in near or "afro" in near:
                out = replace(out, hair_style="curly")
            if "short" in near or "cropped" in near:
                out = replace(out, hair_style="short")
        if w in ("ponytail", "bun", "braid", "braids"):
            out = replace(out, hair_style="ponytail" if w.startswith(("pony", "braid")) else "bun")
        if w in ("bald", "shaved"):
            out = replace(out, hair_style="bald")
        if w in ("beard", "bearded"):
            out = replace(out, beard=True)
        if w in ("moustache", "mustache"):
            out = replace(out, moustache=True)
        if w in ("glasses", "spectacles"):
            out = replace(out, glasses=True)
        if w in ("hat", "cap", "beanie", "beret"):
            out = replace(out, hat=_colour_before(words, i, COLOURS) or (60, 50, 40))
        if w in ("grey-haired", "white-haired", "silver-haired"):
            out = replace(out, hair=HAIR_COLOURS[w.split("-")[0]])
    return replace(out, height=height, width=width)


def changed_look(look: Look) -> Look:
    """A visibly different look for the continuity fault: other top colour, other hair."""
    top = tuple(255 - c for c in look.top)
    if max(top) - min(top) < 40:  # greys invert to greys: pick a saturated colour instead
        top = COLOURS["orange"] if sum(look.top) < 380 else COLOURS["blue"]
    hair_style = {"short": "long", "long": "short", "curly": "bald", "bald": "curly", "ponytail": "short", "bun": "long"}[look.hair_style]
    hair = HAIR_COLOURS["blond"] if sum(look.hair) < 300 else HAIR_COLOURS["black"]
    return replace(look, top=top, hair_style=hair_style, hair=hair, glasses=not look.glasses)
