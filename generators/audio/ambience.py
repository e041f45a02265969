"""Ambience beds by keyword, from filtered noise and simple synthesis.

Each ambience name ("rain on window", "fridge hum", "busy street") is matched against `LAYERS`
by keyword; every matched layer is synthesized and summed, unknown names fall back to room tone.
Measurable properties per layer (what a probe can look for):

- rain: broadband hiss 1-8 kHz plus dense random droplet clicks (high zero-crossing rate);
- wind: low-passed noise (< 600 Hz) with slow gusts (level varies 0.1-0.3 Hz);
- traffic: rumble < 250 Hz plus passing-car swells every few seconds;
- crowd: babble, band-limited noise 300-3000 Hz modulated at syllable rate (3-6 Hz);
- birds: short chirps, frequency sweeps 2.5-6 kHz at random times;
- hum: 50 Hz hum with harmonics (100, 150, 200 Hz) over faint low noise (fridge, air conditioning);
- waves: low-passed noise with swells every ~6-9 s;
- fire: low roar plus random crackle clicks;
- kettle: a whistle near 2.2 kHz that rises in pitch and level, over boiling noise;
- crickets / insects: 4.5 kHz pulse trains;
- clock: ticks once per second;
- water: bubbling band noise 500-3000 Hz;
- engine: firing pulses 25-40 Hz, low-passed (idling engines, tractors, scooters);
- fan: air noise 150-4000 Hz fluttering at blade rate 8-20 Hz (ventilation, extractors, dryers);
- drips: pitched blips rising 1-2.5 kHz, ~3 per second;
- creak: stick-slip pulse trains 40-120 Hz through a 300-1500 Hz resonance, every ~2 s;
- flap: low noise in fast irregular bursts 6-14 Hz (flags, sails);
- distant music: a playful music bed low-passed at 1.2 kHz (jukebox, radio, music through walls);
- typing: 3 ms clicks above 1.5 kHz, 4-9 per second;
- beeps: a 0.12 s tone (880-1760 Hz) every 1-2 s (monitors, pagers, phones across a room);
- siren: a tone sweeping 600-1200 Hz over 4-6 s;
- hiss: steady noise above 2 kHz (sizzling, steam, tape, tyres on a wet road);
- clatter: sparse clinks 2-5 kHz and knocks (cups, cutlery, chairs);
- footsteps: soft thumps twice a second in walking bursts;
- livestock: 1-2 s harmonic calls, F0 100-250 Hz;
- room tone (fallback): very quiet pink noise low-passed at 1 kHz.

The summed bed is set to RMS -32 dBFS (room tone alone: -44 dBFS).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from generators.audio import layers as L
from generators.audio.dsp import resample, set_rms_dbfs

AMBIENCE_DBFS = -32.0
ROOM_TONE_DBFS = -44.0
SYNTH_RATE = 24000  # synthesized at most at this rate, then resampled (content stays < 12 kHz)

Layer = Callable[[int, int, np.random.Generator], np.ndarray]


# layer name -> (regexes matched at a word start, synthesizer); a name may select several layers
LAYERS: dict[str, tuple[tuple[str, ...], Layer]] = {
    "rain": (("rain", "drizzle", "storm", "downpour"), L.rain),
    "wind": ((r"wind\b", "windy", "breeze", "gust", "blizzard"), L.wind),
    "traffic": (("traffic", "street", "road", "cars", "city", "highway", "tyres", "tires"), L.traffic),
    "crowd": (("crowd", "chatter", "babble", "cafe", "café", "restaurant", r"bar\b", "party", "market", "people",
               "murmur", r"voices?\b", "children", "kids", "calling", "announce", "singing", "chant", "talk",
               "conversation", "playground", "vendors", "audience", "lawyers"), L.crowd),
    "birds": (("bird", "chirp", "songbird", "dawn chorus", "gull", "pigeon", r"owls?\b", r"crows?\b", r"coo(ing|s)?\b"), L.birds),
    "hum": ((r"hum\b", "humming", "fridge", "refrigerator", "air conditioning", "hvac", "fluorescent", "buzz",
             "server", "amplifier", "transformer"), L.hum),
    "waves": (("wave", r"sea\b", "ocean", "surf", "shore", "beach"), L.waves),
    "fire": (("fire", "fireplace", "crackl", "campfire", "hearth", "ember", "popping"), L.fire),
    "kettle": (("kettle", "whistling"), L.kettle),
    "crickets": (("cricket", "insect", "cicada", r"night\b"), L.crickets),
    "clock": (("clock", "tick"), L.clock),
    "water": (("water", "stream", "river", "brook", "fountain", r"tap\b", "sink"), L.water),
    "engine": (("engine", "diesel", "idling", "tractor", "scooter", "motor", "generator", r"bus\b", "truck"), L.engine),
    "fan": ((r"fans?\b", "whir", "ventilat", "extractor", "dryer", "tumbl", "air vent"), L.fan),
    "drips": (("drip", "shower", "leak"), L.drips),
    "creak": (("creak", "groan"), L.creak),
    "flap": (("flap", "flutter", "flag", r"sails?\b", "canvas", "tarp"), L.flap),
    "distant_music": (("music", "jukebox", "guitar", "radio", "piano", r"band\b", "strumming"), L.distant_music),
    "typing": (("typing", "keyboard", "typewriter"), L.typing),
    "beeps": (("beep", "monitor", "pager", "phones", "ringing", "whine"), L.beeps),
    "siren": (("siren",), L.siren),
    "hiss": (("hiss", "sizzl", "frying", "steam"), L.hiss),
    "clatter": (("clatter", "clink", "cups", "teacup", "saucer", "dishes", "cutlery", "stacking", "chairs", "knocking"), L.clatter),
    "footsteps": (("footstep", r"steps\b", "walking", "pacing"), L.footsteps),
    "livestock": ((r"cows?\b", "cattle", "lowing", r"moo", "sheep", "goat", "bleat", "livestock", "farmyard"), L.livestock),
}


def ambience_layers(names: list[str]) -> list[str]:
    """The layers a list of ambience names selects, in order, without repeats ("room_tone" if none)."""
    found: list[str] = []
    for name in names:
        text = name.lower()
        for layer, (keywords, _) in LAYERS.items():
            if layer not in found and any(re.search(rf"\b{k}", text) for k in keywords):
                found.append(layer)
    return found or ["room_tone"]


def ambience_bed(names: list[str], duration_s: float, sample_rate: int, seed: int) -> np.ndarray:
    """Ambience for the given names: float32 mono, RMS -32 dBFS (room tone only: -44 dBFS)."""
    if duration_s <= 0:
        raise ValueError(f"ambience_bed: duration_s must be positive, got {duration_s}")
    if sample_rate < 8000:
        raise ValueError(f"ambience_bed: sample_rate must be at least 8000, got {sample_rate}")
    return _ambience_bed(tuple(ambience_layers(list(names))), float(duration_s), int(sample_rate), int(seed)).copy()


@lru_cache(maxsize=8)
def _ambience_bed(layers: tuple[str, ...], duration_s: float, sample_rate: int, seed: int) -> np.ndarray:
    n_out = int(round(duration_s * sample_rate))
    synth_rate = min(sample_rate, SYNTH_RATE)
    n = int(round(duration_s * synth_rate))
    rng = np.random.default_rng(seed)
    if layers == ("room_tone",):
        out, level = L.room_tone(n, synth_rate, rng), ROOM_TONE_DBFS
    else:
        out, level = np.zeros(n, dtype=np.float64), AMBIENCE_DBFS
        for layer in layers:
            sound = np.asarray(LAYERS[layer][1](n, synth_rate, rng), dtype=np.float64)
            out += sound / (np.sqrt(np.mean(sound**2)) + 1e-12)  # each layer at equal loudness
    if synth_rate != sample_rate:
        out = resample(out, synth_rate, sample_rate)
    out = np.pad(out, (0, max(0, n_out - len(out))))[:n_out]
    bed = np.clip(set_rms_dbfs(np.asarray(out, dtype=np.float32), level), -1.0, 1.0).astype(np.float32)
    bed.setflags(write=False)
    return bed
