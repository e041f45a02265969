"""Scene scripts: the schema, the bundled suites and the composer. Knows about nothing else."""

from scenes.loader import SceneFileError, bundled_suites, find_scene, load_scene_file, load_suite
from scenes.schema import (
    Atmosphere,
    Character,
    Drama,
    Line,
    Music,
    Scene,
    SceneRuleError,
    Setting,
    Shot,
    SoundCue,
    Suite,
    Voice,
)
from scenes.timing import BIN_SECONDS, Span, Timeline, layout_timeline, plan_timeline
from scenes.vocabulary import (
    EMOTION_AFFECT,
    MOOD_AFFECT,
    Angle,
    Brightness,
    Delivery,
    Emotion,
    Mood,
    Movement,
    Palette,
    ShotSize,
    TimeOfDay,
)

__all__ = [
    "Angle", "Atmosphere", "BIN_SECONDS", "Brightness", "Character", "Delivery", "Drama", "EMOTION_AFFECT",
    "Emotion", "Line", "MOOD_AFFECT", "Mood", "Movement", "Music", "Palette", "Scene", "SceneFileError",
    "SceneRuleError", "Setting", "Shot", "ShotSize", "SoundCue", "Span", "Suite", "TimeOfDay", "Timeline",
    "Voice", "bundled_suites", "find_scene", "layout_timeline", "load_scene_file", "load_suite", "plan_timeline",
]
