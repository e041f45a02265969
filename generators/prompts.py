"""Scene script → text prompts: one per shot for shot-wise pipelines, one per scene for API generators.

A prompt carries what a text-to-video model can act on: who is in frame and how they look, what
they say and how (emotion, delivery, addressee, scripted action), the framing and camera move, the
location, time of day, lighting and mood. The negative prompt lists the failures the benchmark
checks that a prompt can steer away from. Prompts are plain functions of the scene, so the same
scene always yields the same prompts (they are part of a clip's identity through the scene hash).
"""

from __future__ import annotations

from dataclasses import dataclass

from scenes import Delivery, Scene, Shot

DEFAULT_NEGATIVE_PROMPT = (
    "blurry, low quality, distorted faces, extra limbs, flickering, frozen frame, jump cut, "
    "mismatched lip sync, wrong speaker talking, text, watermark, subtitles"
)

_SIZE_WORDS = {
    "extreme_wide": "extreme wide shot",
    "wide": "wide shot",
    "full": "full shot",
    "medium": "medium shot",
    "medium_close_up": "medium close-up",
    "close_up": "close-up",
    "extreme_close_up": "extreme close-up",
}
_ANGLE_WORDS = {
    "eye_level": "eye-level",
    "high": "high-angle",
    "low": "low-angle",
    "dutch": "dutch-angle",
    "over_shoulder": "over-the-shoulder",
}
_MOVE_WORDS = {
    "static": "static camera",
    "pan_left": "camera pans left",
    "pan_right": "camera pans right",
    "push_in": "slow push-in",
    "pull_out": "slow pull-out",
    "tilt_up": "camera tilts up",
    "tilt_down": "camera tilts down",
    "handheld": "handheld camera",
}
_DELIVERY_VERBS = {
    Delivery.normal: "says",
    Delivery.whisper: "whispers",
    Delivery.shout: "shouts",
    Delivery.voice_over: "is heard in voice-over, lips still, saying",
}


@dataclass(frozen=True)
class ShotPrompt:
    """The prompt for one shot, with the shot and line indices it covers."""

    shot: int
    prompt: str
    negative_prompt: str
    lines: tuple[int, ...]


def _setting_text(scene: Scene) -> str:
    s = scene.setting
    where = f"{'interior' if s.interior else 'exterior'}, {s.location}, {s.time_of_day.value}"
    light = f"{s.lighting} lighting"
    if s.brightness is not None:
        light += f", {s.brightness.value} exposure"
    if s.palette is not None:
        light += f", {s.palette.value} colour palette"
    mood = f"{scene.atmosphere.mood.value} mood"
    return f"{where}; {light}; {mood}"


def _line_text(scene: Scene, index: int) -> str:
    line = scene.lines[index]
    who = scene.character(line.speaker).name
    verb = _DELIVERY_VERBS[line.delivery]
    to = f" to {scene.character(line.addressee).name}" if line.addressee else ""
    text = f'{who}, {line.emotion.value}, {verb}{to}: "{line.text}"'
    if line.action:
        text += f" while {line.action}"
    return text


def _framing_text(shot: Shot) -> str:
    return f"{_SIZE_WORDS[shot.size.value]}, {_ANGLE_WORDS[shot.angle.value]}, {_MOVE_WORDS[shot.movement.value]}"


def shot_prompt(scene: Scene, index: int, negative_prompt: str = DEFAULT_NEGATIVE_PROMPT) -> ShotPrompt:
    """The prompt for shot `index`: framing, who is seen and how they look, the dialogue, the setting."""
    shot = scene.shots[index]
    people = "; ".join(f"{scene.character(c).name} ({scene.character(c).look})" for c in shot.subjects)
    parts = [f"Cinematic film still, {_framing_text(shot)}", f"on screen: {people}"]
    if shot.lines:
        parts.append(" then ".join(_line_text(scene, i) for i in shot.lines))
    else:
        parts.append("no dialogue, the characters hold the moment")
    parts.append(_setting_text(scene))
    return ShotPrompt(index, ". ".join(parts) + ".", negative_prompt, tuple(shot.lines))


def shot_prompts(scene: Scene, negative_prompt: str = DEFAULT_NEGATIVE_PROMPT) -> list[ShotPrompt]:
    """One prompt per shot, in script order."""
    return [shot_prompt(scene, i, negative_prompt) for i in range(len(scene.shots))]


def scene_prompt(scene: Scene, max_chars: int = 4000) -> str:
    """One prompt for a whole scene (API generators): cast, setting, sound, then the shots in order."""
    cast = "; ".join(f"{c.name}: {c.look}, {c.voice.gender} voice" for c in scene.characters)
    sound: list[str] = []
    if scene.atmosphere.music is not None:
        sound.append(f"{scene.atmosphere.music.mood.value} music at {scene.atmosphere.music.intensity:.0%} intensity")
    if scene.atmosphere.ambience:
        sound.append("ambience: " + ", ".join(scene.atmosphere.ambience))
    cues = {cue.at_line: cue.cue for cue in scene.atmosphere.sounds}
    shots = []
    for s, shot in enumerate(scene.shots):
        who = ", ".join(scene.character(c).name for c in shot.subjects)
        lines = []
        for i in shot.lines:
            text = _line_text(scene, i)
            if i in cues:
                text += f" [sound: {cues[i]}]"
            lines.append(text)
        body = " ".join(lines) if lines else f"silent beat of {shot.duration_s or 1.0:g} s"
        shots.append(f"Shot {s + 1} ({_framing_text(shot)}, on {who}): {body}")
    text = (
        f"{scene.title}. A multi-character dialogue scene with synchronized speech; each line is spoken by "
        f"its own character with visible lip sync and the others react. Setting: {_setting_text(scene)}. "
        f"Characters: {cast}. " + (f"Sound: {'; '.join(sound)}. " if sound else "") + " ".join(shots)
    )
    if len(text) > max_chars:
        text = text[: max_chars - 1].rsplit(" ", 1)[0] + "…"
    return text
