"""The scene script: who is in a scene, what they say and how, how it is shot, where it plays.

Every id becomes a file name somewhere (clip folders, report pages), so ids are restricted to
lower-case letters, digits, `_` and `-`. Cross references (speakers, addressees, shot subjects,
shot lines, sound cues) are checked here so that a bad script fails at load time with the path of
the offending field, never half way through a render.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from scenes.vocabulary import (
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

SAFE_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
SafeId = Annotated[str, StringConstraints(pattern=SAFE_ID_PATTERN)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

# A spoken line is at most this long in estimated seconds; a scene at most this long in total.
MAX_LINE_SECONDS = 30.0
MAX_SCENE_SECONDS = 180.0


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Voice(Strict):
    """How a character sounds: the voice backends turn this into a concrete voice."""

    gender: Annotated[str, StringConstraints(pattern=r"^(female|male|neutral)$")] = "neutral"
    pitch: int = Field(0, ge=-10, le=10, description="semitone-like offset from the backend's base pitch")
    rate: float = Field(1.0, ge=0.5, le=2.0, description="speaking rate multiplier")
    variant: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_+-]{1,32}$")] | None = None
    elevenlabs_voice_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,64}$")] | None = None


class Character(Strict):
    id: SafeId
    name: ShortText
    look: ShortText = Field(description="what the character looks like: build, clothes, hair")
    voice: Voice = Voice()


class Line(Strict):
    speaker: SafeId
    text: Text
    emotion: Emotion = Emotion.neutral
    delivery: Delivery = Delivery.normal
    addressee: SafeId | None = None
    action: ShortText | None = None
    pause_before_s: float = Field(0.35, ge=0.0, le=5.0, description="planned silence before the line")


class Shot(Strict):
    size: ShotSize = ShotSize.medium
    angle: Angle = Angle.eye_level
    movement: Movement = Movement.static
    subjects: list[SafeId] = Field(min_length=1, max_length=6)
    lines: list[int] = Field(default_factory=list)
    duration_s: float | None = Field(
        None, gt=0.0, le=20.0, description="length of a shot that covers no line (establishing, insert)"
    )


class Setting(Strict):
    location: ShortText
    interior: bool = True
    time_of_day: TimeOfDay = TimeOfDay.day
    lighting: ShortText = "natural"
    brightness: Brightness | None = None
    palette: Palette | None = None


class Music(Strict):
    mood: Mood
    intensity: float = Field(0.3, ge=0.0, le=1.0)


class SoundCue(Strict):
    cue: ShortText
    at_line: int = Field(ge=0)


class Atmosphere(Strict):
    mood: Mood = Mood.neutral
    music: Music | None = None
    ambience: list[ShortText] = Field(default_factory=list, max_length=6)
    sounds: list[SoundCue] = Field(default_factory=list, max_length=12)


def estimate_line_seconds(line: Line, rate: float = 1.0) -> float:
    """Planned speaking time of a line: ~2.6 words/s at rate 1, slower for whispers."""
    words = max(1, len(line.text.split()))
    speed = 2.6 * rate * (0.85 if line.delivery is Delivery.whisper else 1.0)
    return 0.3 + words / speed


class Scene(Strict):
    id: SafeId
    title: ShortText
    setting: Setting
    atmosphere: Atmosphere = Atmosphere()
    characters: list[Character] = Field(min_length=1, max_length=6)
    lines: list[Line] = Field(min_length=1, max_length=40)
    shots: list[Shot] = Field(min_length=1, max_length=40)

    @model_validator(mode="after")
    def _check_references(self) -> Scene:
        errors: list[tuple[str, str]] = []
        ids = [c.id for c in self.characters]
        seen: set[str] = set()
        for i, cid in enumerate(ids):
            if cid in seen:
                errors.append((f"characters[{i}].id", f"duplicate character id {cid!r}"))
            seen.add(cid)
        by_id = {c.id: c for c in self.characters}
        for i, line in enumerate(self.lines):
            if line.speaker not in by_id:
                errors.append((f"lines[{i}].speaker", f"{line.speaker!r} is not a character of scene {self.id!r}"))
            if line.addressee is not None and line.addressee not in by_id:
                errors.append((f"lines[{i}].addressee", f"{line.addressee!r} is not a character of scene {self.id!r}"))
            if line.addressee is not None and line.addressee == line.speaker:
                errors.append((f"lines[{i}].addressee", f"{line.speaker!r} cannot address themselves"))
            rate = by_id[line.speaker].voice.rate if line.speaker in by_id else 1.0
            if estimate_line_seconds(line, rate) > MAX_LINE_SECONDS:
                errors.append((f"lines[{i}].text", f"line takes longer than {MAX_LINE_SECONDS:.0f} s to speak"))
        covered: dict[int, int] = {}
        last = -1
        for s, shot in enumerate(self.shots):
            for j, subject in enumerate(shot.subjects):
                if subject not in by_id:
                    errors.append((f"shots[{s}].subjects[{j}]", f"{subject!r} is not a character of scene {self.id!r}"))
            if len(set(shot.subjects)) != len(shot.subjects):
                errors.append((f"shots[{s}].subjects", "a subject is listed twice"))
            if not shot.lines and shot.duration_s is None:
                errors.append((f"shots[{s}].duration_s", "a shot that covers no line needs a duration_s"))
            for j, index in enumerate(shot.lines):
                if index < 0 or index >= len(self.lines):
                    errors.append((f"shots[{s}].lines[{j}]", f"line {index} does not exist (scene has {len(self.lines)} lines)"))
                    continue
                if index in covered:
                    errors.append((f"shots[{s}].lines[{j}]", f"line {index} is already covered by shot {covered[index]}"))
                    continue
                if index <= last:
                    errors.append((f"shots[{s}].lines[{j}]", f"line {index} is out of order (shots run through lines in order)"))
                covered[index] = s
                last = max(last, index)
        for i in range(len(self.lines)):
            if i not in covered:
                errors.append((f"lines[{i}]", "no shot covers this line"))
        for k, cue in enumerate(self.atmosphere.sounds):
            if cue.at_line >= len(self.lines):
                errors.append((f"atmosphere.sounds[{k}].at_line", f"line {cue.at_line} does not exist"))
        if not errors:
            total = self.planned_seconds()
            if total > MAX_SCENE_SECONDS:
                errors.append(("lines", f"scene would last {total:.0f} s, over the {MAX_SCENE_SECONDS:.0f} s limit"))
        if errors:
            raise SceneRuleError(errors)
        return self

    def character(self, cid: str) -> Character:
        for c in self.characters:
            if c.id == cid:
                return c
        raise KeyError(cid)

    def shot_of_line(self, index: int) -> int:
        for s, shot in enumerate(self.shots):
            if index in shot.lines:
                return s
        raise KeyError(index)

    def planned_seconds(self) -> float:
        from scenes.timing import plan_timeline

        return plan_timeline(self).duration_s

    def content_hash(self) -> str:
        """sha256 of the canonical JSON of the scene: the scene's part of every content key."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()


class Drama(Strict):
    """A short drama: scenes played in order by the same cast."""

    id: SafeId
    title: ShortText
    scenes: list[SafeId] = Field(min_length=2, max_length=12)


class Suite(Strict):
    id: SafeId
    title: ShortText
    description: str = ""
    scenes: list[Scene] = Field(min_length=1)
    dramas: list[Drama] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_suite(self) -> Suite:
        errors: list[tuple[str, str]] = []
        seen: dict[str, int] = {}
        for i, scene in enumerate(self.scenes):
            if scene.id in seen:
                errors.append((f"scenes[{i}].id", f"duplicate scene id {scene.id!r} (also scenes[{seen[scene.id]}])"))
            seen.setdefault(scene.id, i)
        drama_ids: set[str] = set()
        for d, drama in enumerate(self.dramas):
            if drama.id in drama_ids or drama.id in seen:
                errors.append((f"dramas[{d}].id", f"duplicate id {drama.id!r}"))
            drama_ids.add(drama.id)
            for j, sid in enumerate(drama.scenes):
                if sid not in seen:
                    errors.append((f"dramas[{d}].scenes[{j}]", f"{sid!r} is not a scene of suite {self.id!r}"))
            if len(set(drama.scenes)) != len(drama.scenes):
                errors.append((f"dramas[{d}].scenes", "a scene is listed twice"))
            casts = [
                {c.id for c in self.scenes[seen[sid]].characters} for sid in drama.scenes if sid in seen
            ]
            if casts and not set.intersection(*casts):
                errors.append((f"dramas[{d}].scenes", "the drama's scenes share no character"))
            errors.extend(_cast_drift(drama, d, [self.scenes[seen[sid]] for sid in drama.scenes if sid in seen]))
        if errors:
            raise SceneRuleError(errors)
        return self

    def scene(self, sid: str) -> Scene:
        for s in self.scenes:
            if s.id == sid:
                return s
        raise KeyError(f"scene {sid!r} is not in suite {self.id!r}")

    def drama(self, did: str) -> Drama:
        for d in self.dramas:
            if d.id == did:
                return d
        raise KeyError(f"drama {did!r} is not in suite {self.id!r}")

    def content_hash(self) -> str:
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()


def _cast_drift(drama: Drama, index: int, scenes: list[Scene]) -> list[tuple[str, str]]:
    """A character keeps one name, look and voice across a drama's scenes (continuity is judged on it)."""
    errors: list[tuple[str, str]] = []
    first: dict[str, tuple[str, Character]] = {}
    for scene in scenes:
        for character in scene.characters:
            if character.id not in first:
                first[character.id] = (scene.id, character)
                continue
            origin, reference = first[character.id]
            for field in ("name", "look", "voice"):
                if getattr(character, field) != getattr(reference, field):
                    errors.append((
                        f"dramas[{index}].scenes",
                        f"character {character.id!r} has a different {field} in scene {scene.id!r} than in {origin!r}",
                    ))
    return errors


class SceneRuleError(ValueError):
    """Cross-reference errors found after field validation: (relative field path, message) pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{p}: {m}" for p, m in errors))
