"""The fault catalogue: each fault type, the taxonomy modes it produces, where it can go, how it is chosen.

Choosing is deterministic from (seed, scene hash, config): `plan_faults` draws, per fault type in
catalogue order, whether it is injected (its rate) and where (a line, a shot, a character), and a
severity. Spans in seconds are filled in later, once the timeline is measured (`FaultPlan.resolve`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from generators.procedural.framing import framed_height
from scenes import EMOTION_AFFECT, MOOD_AFFECT, Angle, Delivery, Movement, Scene, ShotSize


@dataclass(frozen=True)
class FaultType:
    name: str
    modes: tuple[str, ...]
    scope: str                    # line | shot | scene
    medium: str                   # picture | sound | both
    summary: str
    groups: tuple[str, ...] = ()  # a line hosts at most one fault per group (they would mask each other)


CATALOGUE: tuple[FaultType, ...] = (
    FaultType("lip_sync_offset", ("sf.lip_sync_offset",), "scene", "picture", "every mouth moves 120-400 ms early or late"),
    FaultType("non_speaker_lip_motion", ("sf.non_speaker_lip_motion",), "line", "picture", "a listener's lips move with the speaker's line", ("mouth",)),
    FaultType("wrong_mouth", ("dp.speaker_identity_error",), "line", "both", "another character voices the line with their own voice and mouth", ("mouth", "voice")),
    FaultType("voice_swap", ("ct.character_continuity_break",), "scene", "sound", "a character's voice changes to another voice mid-scene"),
    FaultType("audio_dropout", ("sf.audio_dropout",), "line", "sound", "part of a line is muted while the mouth keeps moving", ("mouth",)),
    FaultType("dropped_line", ("sf.audio_dropout", "dp.dialogue_content_deviation"), "line", "sound", "a whole line is silent while the mouth moves", ("mouth", "voice")),
    FaultType("overlapping_turns", ("ip.dialogue_turn_taking_failure",), "line", "sound", "a line starts before the previous one ends", ("gap",)),
    FaultType("cut_off_turn", ("ip.dialogue_turn_taking_failure",), "line", "sound", "the previous line is cut off mid-word by this one", ("gap",)),
    FaultType("dead_air", ("ip.reaction_timing_failure",), "line", "sound", "a long silence before a reply", ("gap",)),
    FaultType("wrong_speech_mode", ("dp.speech_mode_confusion",), "line", "sound", "whispered where the script shouts (or shouted where it whispers)", ("voice",)),
    FaultType("expression_mismatch", ("ep.facial_expression_inconsistency", "ep.multimodal_expressive_inconsistency"), "line", "picture", "the face shows the opposite of the line's emotion", ("face",)),
    FaultType("flat_delivery", ("ep.vocal_emotional_delivery_failure", "ep.multimodal_expressive_inconsistency"), "line", "sound", "an emotional line spoken flat and neutral", ("voice",)),
    FaultType("lighting_conflict", ("mc.lighting_emotion_conflict",), "scene", "picture", "lighting contradicts the mood (bright for tense, dark for joyful)"),
    FaultType("colour_conflict", ("mc.color_emotion_conflict",), "scene", "picture", "colour grade contradicts the mood (cold grey for joyful, candy-warm for tense)"),
    FaultType("mood_drift", ("mc.visual_mood_drift",), "scene", "picture", "the grade drifts toward the opposite mood across the scene"),
    FaultType("music_opposite", ("mc.scene_music_emotion_conflict",), "scene", "sound", "music of the opposite mood"),
    FaultType("music_drift", ("mc.music_tone_drift",), "scene", "sound", "the music changes character mid-scene"),
    FaultType("missing_ambience", ("sd.missing_ambient_sound",), "scene", "sound", "the scripted ambience is absent"),
    FaultType("background_drowning", ("sd.overpowering_background_audio",), "scene", "sound", "music and ambience drown the dialogue"),
    FaultType("missing_sound_cue", ("sd.missing_scripted_sound",), "line", "sound", "a scripted sound effect never plays"),
    FaultType("axis_jump", ("ig.180_degree_rule_violation",), "shot", "picture", "characters swap screen sides across a cut"),
    FaultType("jump_cut", ("ig.30_degree_rule_violation",), "shot", "picture", "a cut between two near-identical framings"),
    FaultType("backdrop_drift", ("ec.scene_consistency_drift",), "shot", "picture", "the set changes (wall colour, furniture) between shots"),
    FaultType("look_change", ("ct.character_continuity_break",), "shot", "picture", "a character's clothes and hair change between shots"),
    FaultType("frozen_picture", ("sf.frozen_video",), "shot", "picture", "the picture freezes while the sound runs on"),
    FaultType("action_missing", ("mp.action_missing",), "line", "picture", "a scripted action is not performed"),
    FaultType("eyeline_failure", ("ip.interaction_eyeline_failure",), "line", "picture", "the speaker looks away from the person addressed"),
    # last in the catalogue: its draws come after every other type's, so adding it changed no other fault's choice
    FaultType("robotic_movement", ("mp.robotic_movement",), "shot", "picture",
              "in one shot a character moves like a machine: no breathing, every motion in stepped jerks"),
    # after robotic_movement, for the same reason (generator 1.2.0)
    FaultType("unmotivated_camera", ("ic.camera_motivation_issues",), "shot", "picture",
              "in a shot the script holds still, the camera drifts, shakes or creeps in"),
    # after unmotivated_camera, for the same reason (generator 1.3.0)
    FaultType("focus_hunt", ("ic.focus_control_failure",), "shot", "picture",
              "in one shot the focus hunts: the picture goes soft for about a second and comes back"),
    # after focus_hunt, for the same reason (generator 1.4.0)
    FaultType("wrong_shot_size", ("ig.shot_progression_issues",), "shot", "picture",
              "a shot is framed at a size far from the script's (a wide where a close-up is scripted, or the reverse)"),
    FaultType("subject_at_edge", ("ic.attention_guidance_failure",), "shot", "picture",
              "a single pushes its character to the frame's edge, the rest of the frame empty set"),
)
UNMOTIVATED_MOVES = ("drift", "shake", "creep")
BY_NAME: dict[str, FaultType] = {f.name: f for f in CATALOGUE}
FAULT_NAMES: tuple[str, ...] = tuple(BY_NAME)
CONTROLLED_MODES: tuple[str, ...] = tuple(sorted({m for f in CATALOGUE for m in f.modes}))


@dataclass
class PlannedFault:
    """A chosen fault before timing: what, where (line/shot/character) and how strong."""

    name: str
    severity: float
    line: int | None = None
    shot: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def modes(self) -> list[str]:
        return list(BY_NAME[self.name].modes)


def _arousal(scene: Scene, i: int) -> float:
    return EMOTION_AFFECT[scene.lines[i].emotion][1]


def _valence(scene: Scene, i: int) -> float:
    return EMOTION_AFFECT[scene.lines[i].emotion][0]


def _others_in_shot(scene: Scene, i: int) -> list[str]:
    shot = scene.shots[scene.shot_of_line(i)]
    return [c for c in shot.subjects if c != scene.lines[i].speaker]


def _first_shots(scene: Scene) -> dict[str, int]:
    first: dict[str, int] = {}
    for s, shot in enumerate(scene.shots):
        for c in shot.subjects:
            first.setdefault(c, s)
    return first


def candidates(name: str, scene: Scene) -> list[dict[str, Any]]:
    """Where fault `name` can go in `scene` (empty = not applicable): dicts of line/shot/params."""
    n_lines, n_shots = len(scene.lines), len(scene.shots)
    spoken = [i for i, ln in enumerate(scene.lines) if ln.delivery is not Delivery.voice_over]
    if name in ("lip_sync_offset", "background_drowning"):
        return [{}]
    # a mood can only be contradicted when it has a clear valence (a neutral scene has no "opposite")
    felt = abs(MOOD_AFFECT[scene.atmosphere.mood][0]) >= 0.3
    if name in ("lighting_conflict", "colour_conflict"):
        return [{}] if felt else []
    if name == "music_opposite":
        music = scene.atmosphere.music
        return [{}] if abs(MOOD_AFFECT[music.mood if music else scene.atmosphere.mood][0]) >= 0.3 else []
    if name == "mood_drift":
        return [{}] if felt and scene.planned_seconds() >= 4.0 else []
    if name == "music_drift":
        return [{}] if scene.planned_seconds() >= 5.0 else []
    if name == "missing_ambience":
        return [{}] if scene.atmosphere.ambience else []
    if name == "non_speaker_lip_motion":
        return [{"line": i, "params": {"character": c}} for i in spoken for c in _others_in_shot(scene, i)]
    if name == "wrong_mouth":
        return [{"line": i, "params": {"voiced_by": c}} for i in spoken for c in _others_in_shot(scene, i)]
    if name == "voice_swap":
        out = []
        for c in scene.characters:
            mine = [i for i, ln in enumerate(scene.lines) if ln.speaker == c.id]
            if len(mine) >= 2:
                out += [{"line": i, "params": {"character": c.id}} for i in mine[1:]]
        return out
    if name in ("audio_dropout", "dropped_line"):
        return [{"line": i} for i in range(n_lines)]
    if name in ("overlapping_turns", "cut_off_turn", "dead_air"):
        return [{"line": i} for i in range(1, n_lines) if scene.lines[i].speaker != scene.lines[i - 1].speaker]
    if name == "wrong_speech_mode":
        return [{"line": i} for i in range(n_lines) if scene.lines[i].delivery is not Delivery.voice_over]
    if name == "expression_mismatch":
        return [{"line": i} for i in spoken if abs(_valence(scene, i)) >= 0.3]
    if name == "flat_delivery":
        return [{"line": i} for i in range(n_lines)
                if scene.lines[i].delivery is Delivery.normal and (_arousal(scene, i) >= 0.55 or abs(_valence(scene, i)) >= 0.5)]
    if name == "missing_sound_cue":
        return [{"line": cue.at_line, "params": {"cue": k}} for k, cue in enumerate(scene.atmosphere.sounds)]
    if name == "axis_jump":
        return [{"shot": s} for s in range(1, n_shots)]
    if name == "jump_cut":
        return [{"shot": s} for s in range(n_shots) if scene.shots[s].lines]
    if name == "backdrop_drift":
        return [{"shot": s} for s in range(1, n_shots)]
    if name == "look_change":
        first = _first_shots(scene)
        return [{"shot": s, "params": {"character": c}} for s in range(1, n_shots) for c in scene.shots[s].subjects if first[c] < s]
    if name == "frozen_picture":
        return [{"shot": scene.shot_of_line(i), "line": i} for i in range(n_lines)]
    if name == "action_missing":
        return [{"line": i} for i, ln in enumerate(scene.lines) if ln.action]
    if name == "eyeline_failure":
        return [{"line": i} for i in spoken if scene.lines[i].addressee]
    if name == "robotic_movement":  # a figure seen from behind (over-the-shoulder) shows no body to move
        return [{"shot": s, "params": {"character": c}} for s, shot in enumerate(scene.shots)
                if shot.angle is not Angle.over_shoulder for c in shot.subjects]
    if name == "unmotivated_camera":
        return [{"shot": s, "params": {"move": m}} for s, shot in enumerate(scene.shots)
                if shot.movement is Movement.static for m in UNMOTIVATED_MOVES]
    if name == "focus_hunt":
        return [{"shot": s} for s in range(n_shots)]
    if name == "wrong_shot_size":
        return [{"shot": s, "params": {"size": size.value}} for s in range(n_shots) for size in wrong_sizes(scene, s)]
    if name == "subject_at_edge":  # a still single whose figure leaves the frame room to be pushed aside
        return [{"shot": s, "params": {"side": side}} for s, shot in enumerate(scene.shots) if len(shot.subjects) == 1
                and shot.movement in (Movement.static, Movement.handheld) and shot.size in EDGE_SIZES for side in (-1, 1)]
    raise KeyError(name)


# Sizes whose singles a subject_at_edge fault may push aside: a close-up's face fills a third of the frame (a lean
# moves it as far as a push could), an extreme wide's figure is a few pixels.
EDGE_SIZES = (ShotSize.wide, ShotSize.full, ShotSize.medium, ShotSize.medium_close_up)
# Shot sizes a wrong-size fault may frame a shot at (the extremes are left out: an extreme close-up crops the
# face, an extreme wide makes it a few pixels).
WRONG_SIZES = (ShotSize.wide, ShotSize.full, ShotSize.medium, ShotSize.medium_close_up, ShotSize.close_up)
WRONG_SIZE_FACTOR = 2.5   # a wrong size makes the figures at least this much larger or smaller
NEIGHBOUR_FACTOR = 1.3    # ... and no closer than this to a neighbouring shot of the same people (a jump cut)


def wrong_sizes(scene: Scene, s: int) -> list[ShotSize]:
    """Sizes shot `s` can wrongly be framed at: its figures `WRONG_SIZE_FACTOR` off the scripted size's, and not
    within `NEIGHBOUR_FACTOR` of a neighbouring shot of the same people (that would be a jump cut). Over the
    shoulder shots keep their front figure large whatever the size, so they are left out."""
    shot = scene.shots[s]
    if shot.angle is Angle.over_shoulder:
        return []
    scripted = framed_height(shot.size, shot)
    neighbours = [scene.shots[k] for k in (s - 1, s + 1)
                  if 0 <= k < len(scene.shots) and set(scene.shots[k].subjects) == set(shot.subjects)]
    out = []
    for size in WRONG_SIZES:
        h = framed_height(size, shot)
        if max(h / scripted, scripted / h) < WRONG_SIZE_FACTOR:
            continue
        if any(max(h / framed_height(n.size, n), framed_height(n.size, n) / h) < NEIGHBOUR_FACTOR for n in neighbours):
            continue
        out.append(size)
    return out


def plan_faults(scene: Scene, rates: dict[str, float], forced: list[str], rng: np.random.Generator,
                severity: float | None = None) -> list[PlannedFault]:
    """Draw the faults of one clip: forced ones always (where applicable), the rest by rate."""
    taken: set[tuple[int, str]] = set()
    out: list[PlannedFault] = []
    for ftype in CATALOGUE:
        draw = rng.random()  # always drawn, so one fault's rate never shifts another's choice
        pick = rng.random()
        sev = float(severity) if severity is not None else float(0.55 + 0.45 * rng.random())
        if ftype.name not in forced and draw >= rates.get(ftype.name, 0.0):
            continue
        options = [c for c in candidates(ftype.name, scene)
                   if c.get("line") is None or not any((c["line"], g) in taken for g in ftype.groups)]
        if ftype.name == "cut_off_turn":  # the cut line must not itself be altered in a way that hides the cut
            options = [c for c in options if (c["line"] - 1, "voice") not in taken]
        if not options:
            continue
        chosen = options[int(pick * len(options))]
        line = chosen.get("line")
        if line is not None:
            taken.update((line, g) for g in ftype.groups)
        out.append(PlannedFault(ftype.name, round(sev, 3), line, chosen.get("shot"), dict(chosen.get("params", {}))))
    return out


class FaultPlan:
    """Queries over the chosen faults, used by the sound and picture stages."""

    def __init__(self, faults: list[PlannedFault]):
        self.faults = faults

    def __iter__(self):
        return iter(self.faults)

    def get(self, name: str) -> PlannedFault | None:
        return next((f for f in self.faults if f.name == name), None)

    def on_line(self, name: str, line: int) -> PlannedFault | None:
        return next((f for f in self.faults if f.name == name and f.line == line), None)

    def names(self) -> list[str]:
        return [f.name for f in self.faults]

    def where(self, predicate: Callable[[PlannedFault], bool]) -> list[PlannedFault]:
        return [f for f in self.faults if predicate(f)]
