"""Controlled vocabularies of the scene script, with the affect coordinates probes compare against.

Valence runs from -1 (unpleasant) to +1 (pleasant), arousal from 0 (calm) to 1 (agitated). The
numbers follow the usual circumplex placement of each word; they are what renderers draw and
probes measure, so both sides read them from here.
"""

from __future__ import annotations

from enum import Enum


class Emotion(str, Enum):
    neutral = "neutral"
    happy = "happy"
    joyful = "joyful"
    excited = "excited"
    amused = "amused"
    tender = "tender"
    loving = "loving"
    calm = "calm"
    relieved = "relieved"
    hopeful = "hopeful"
    proud = "proud"
    determined = "determined"
    curious = "curious"
    surprised = "surprised"
    confused = "confused"
    nervous = "nervous"
    anxious = "anxious"
    afraid = "afraid"
    sad = "sad"
    melancholic = "melancholic"
    guilty = "guilty"
    bitter = "bitter"
    sarcastic = "sarcastic"
    defensive = "defensive"
    frustrated = "frustrated"
    angry = "angry"
    furious = "furious"
    contemptuous = "contemptuous"
    desperate = "desperate"
    pleading = "pleading"


EMOTION_AFFECT: dict[Emotion, tuple[float, float]] = {
    Emotion.neutral: (0.0, 0.3),
    Emotion.happy: (0.8, 0.6),
    Emotion.joyful: (0.9, 0.8),
    Emotion.excited: (0.7, 0.9),
    Emotion.amused: (0.6, 0.5),
    Emotion.tender: (0.6, 0.25),
    Emotion.loving: (0.8, 0.35),
    Emotion.calm: (0.3, 0.1),
    Emotion.relieved: (0.5, 0.2),
    Emotion.hopeful: (0.5, 0.45),
    Emotion.proud: (0.6, 0.55),
    Emotion.determined: (0.2, 0.7),
    Emotion.curious: (0.3, 0.5),
    Emotion.surprised: (0.2, 0.85),
    Emotion.confused: (-0.15, 0.45),
    Emotion.nervous: (-0.4, 0.7),
    Emotion.anxious: (-0.5, 0.7),
    Emotion.afraid: (-0.7, 0.85),
    Emotion.sad: (-0.7, 0.2),
    Emotion.melancholic: (-0.5, 0.15),
    Emotion.guilty: (-0.5, 0.3),
    Emotion.bitter: (-0.6, 0.45),
    Emotion.sarcastic: (-0.3, 0.5),
    Emotion.defensive: (-0.35, 0.6),
    Emotion.frustrated: (-0.6, 0.7),
    Emotion.angry: (-0.8, 0.9),
    Emotion.furious: (-0.9, 1.0),
    Emotion.contemptuous: (-0.6, 0.4),
    Emotion.desperate: (-0.8, 0.85),
    Emotion.pleading: (-0.4, 0.6),
}


class Mood(str, Enum):
    neutral = "neutral"
    calm = "calm"
    warm = "warm"
    joyful = "joyful"
    playful = "playful"
    romantic = "romantic"
    hopeful = "hopeful"
    triumphant = "triumphant"
    tense = "tense"
    ominous = "ominous"
    eerie = "eerie"
    sad = "sad"
    melancholic = "melancholic"
    angry = "angry"


MOOD_AFFECT: dict[Mood, tuple[float, float]] = {
    Mood.neutral: (0.0, 0.3),
    Mood.calm: (0.35, 0.1),
    Mood.warm: (0.6, 0.3),
    Mood.joyful: (0.85, 0.75),
    Mood.playful: (0.7, 0.65),
    Mood.romantic: (0.7, 0.3),
    Mood.hopeful: (0.5, 0.45),
    Mood.triumphant: (0.8, 0.9),
    Mood.tense: (-0.5, 0.75),
    Mood.ominous: (-0.7, 0.5),
    Mood.eerie: (-0.6, 0.35),
    Mood.sad: (-0.7, 0.2),
    Mood.melancholic: (-0.5, 0.15),
    Mood.angry: (-0.8, 0.9),
}


class Delivery(str, Enum):
    normal = "normal"
    whisper = "whisper"
    shout = "shout"
    voice_over = "voice_over"


class ShotSize(str, Enum):
    extreme_wide = "extreme_wide"
    wide = "wide"
    full = "full"
    medium = "medium"
    medium_close_up = "medium_close_up"
    close_up = "close_up"
    extreme_close_up = "extreme_close_up"


class Angle(str, Enum):
    eye_level = "eye_level"
    high = "high"
    low = "low"
    dutch = "dutch"
    over_shoulder = "over_shoulder"


class Movement(str, Enum):
    static = "static"
    pan_left = "pan_left"
    pan_right = "pan_right"
    push_in = "push_in"
    pull_out = "pull_out"
    tilt_up = "tilt_up"
    tilt_down = "tilt_down"
    handheld = "handheld"


class TimeOfDay(str, Enum):
    dawn = "dawn"
    morning = "morning"
    day = "day"
    afternoon = "afternoon"
    dusk = "dusk"
    evening = "evening"
    night = "night"


class Brightness(str, Enum):
    dark = "dark"
    low = "low"
    normal = "normal"
    bright = "bright"


class Palette(str, Enum):
    warm = "warm"
    neutral = "neutral"
    cool = "cool"


def mood_valence(mood: Mood) -> float:
    return MOOD_AFFECT[mood][0]


def emotion_valence(emotion: Emotion) -> float:
    return EMOTION_AFFECT[emotion][0]
