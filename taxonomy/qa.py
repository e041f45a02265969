"""QA builder: templates that turn a scene (or a drama's chain of scenes) into benchmark items.

One template per (format, level, mode or sub-dimension); its id and version, the scene content
hash (or the drama's scene hashes) and the slot (which line, which cut between scenes) hash into
the item id, so ids are stable across runs and change only when the script or the wording does.
Gold answers stay empty here; `gold_for` computes them from where modes occur in a clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

from scenes import Delivery, Drama, Line, Scene, Suite, plan_timeline
from storage import content_key
from taxonomy.items import NONE_OPTION, Format, Level, Option, QAItem
from taxonomy.model import FailureMode, Scope, SubDimension, Taxonomy, load_taxonomy

WORDING = Path(__file__).parent / "templates" / "questions.yaml"
BIN_S = 2.0
ID_LENGTH = 20

# Modes a drama is asked about across its scenes (continuity and narrative), and the subset also
# asked at each cut between two consecutive scenes.
DRAMA_MODES = (
    "ep.emotion_driven_motivation_shift", "mp.plot_driven_intention_failure", "mc.visual_mood_drift",
    "mc.music_tone_drift", "ec.scene_consistency_drift", "ec.missing_scene_transition",
    "ec.artificial_environment_transition", "ct.action_continuity_break", "ct.spatial_continuity_break",
    "ct.character_continuity_break",
)
SAME_PLACE_MODES = ("ec.scene_consistency_drift", "ct.spatial_continuity_break", "ct.action_continuity_break")

DELIVERY_WORDS = {
    Delivery.normal: "spoken normally", Delivery.whisper: "whispered", Delivery.shout: "shouted",
    Delivery.voice_over: "as a voice-over",
}
SCRIPTED_AS = {
    Delivery.normal: "normal speech", Delivery.whisper: "a whisper", Delivery.shout: "a shout",
    Delivery.voice_over: "a voice-over",
}


@dataclass(frozen=True)
class Wording:
    version: str
    modes: dict[str, dict[str, str]]


@lru_cache(maxsize=None)
def load_wording(path: str | None = None) -> Wording:
    """The yes/no question wording per mode and level (taxonomy/templates/questions.yaml)."""
    data = yaml.safe_load(Path(path or WORDING).read_text(encoding="utf-8"))
    return Wording(version=str(data["version"]), modes=dict(data["modes"]))


def item_id(template: str, version: str, hashes: Sequence[str], slot: dict[str, Any]) -> str:
    """Stable id: template id and version, the scene hash(es), the slot."""
    return content_key(template, version, list(hashes), slot, length=ID_LENGTH)


def _names(names: Iterable[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


# ---------------------------------------------------------------- which modes apply where


def _addressee(scene: Scene, line: Line) -> str | None:
    if line.addressee:
        return line.addressee
    others = [c.id for c in scene.characters if c.id != line.speaker]
    return others[0] if len(others) == 1 else None  # a two-hander: the other one is addressed


def _cues(scene: Scene, index: int) -> list[str]:
    return [s.cue for s in scene.atmosphere.sounds if s.at_line == index]


def _on_screen_others(scene: Scene, index: int) -> list[str]:
    shot = scene.shots[scene.shot_of_line(index)]
    return [s for s in shot.subjects if s != scene.lines[index].speaker]


def line_applies(mode: FailureMode, scene: Scene, index: int) -> bool:
    """Whether a line-scoped mode can be asked about line `index` of the scene."""
    line = scene.lines[index]
    on_screen = line.delivery is not Delivery.voice_over
    prev = scene.lines[index - 1] if index > 0 else None
    rules = {
        "ep.facial_expression_inconsistency": on_screen,
        "ep.expression_exaggeration": on_screen,
        "ep.multimodal_expressive_inconsistency": on_screen,
        "ep.co_speech_gesture_inconsistency": on_screen,
        "mp.action_exaggeration": line.action is not None,
        "mp.action_missing": line.action is not None,
        "mp.action_not_matching_script": line.action is not None,
        "ip.interaction_eyeline_failure": on_screen and _addressee(scene, line) is not None,
        "ip.character_targeting_error": _addressee(scene, line) is not None,
        "ip.reaction_timing_failure": prev is not None and prev.speaker != line.speaker,
        "ip.dialogue_turn_taking_failure": prev is not None and prev.speaker != line.speaker,
        "sd.missing_scripted_sound": bool(_cues(scene, index)),
        "sf.non_speaker_lip_motion": bool(_on_screen_others(scene, index)),
    }
    return rules.get(mode.id, True)


def scene_applies(mode: FailureMode, scene: Scene) -> bool:
    """Whether a mode can occur in a clip of this scene at all."""
    if mode.scope is Scope.drama:
        return False
    if mode.scope is Scope.line:
        return any(line_applies(mode, scene, i) for i in range(len(scene.lines)))
    atmosphere = scene.atmosphere
    several_shots = len(scene.shots) > 1
    several_people = len(scene.characters) > 1
    rules = {
        "ep.emotion_driven_motivation_shift": len(scene.lines) > 1,
        "ip.proxemics_relationship_failure": several_people,
        "ip.environmental_awareness_missing": bool(atmosphere.sounds) or any(ln.action for ln in scene.lines),
        "mc.scene_music_emotion_conflict": atmosphere.music is not None,
        "mc.music_tone_drift": atmosphere.music is not None,
        "ec.artificial_environment_transition": several_shots,
        "sd.missing_ambient_sound": bool(atmosphere.ambience),
        "sd.overpowering_background_audio": bool(atmosphere.music or atmosphere.ambience or atmosphere.sounds),
        "ig.shot_progression_issues": several_shots,
        "ig.30_degree_rule_violation": several_shots,
        "ig.180_degree_rule_violation": several_shots and several_people,
        "ct.action_continuity_break": several_shots,
        "ct.spatial_continuity_break": several_shots,
        "sf.lip_sync_offset": any(ln.delivery is not Delivery.voice_over for ln in scene.lines),
    }
    return rules.get(mode.id, True)


# ---------------------------------------------------------------- script context in words


def scene_context(scene: Scene) -> str:
    s = scene.setting
    place = "interior" if s.interior else "exterior"
    cast = _names(c.name for c in scene.characters)
    return f'Scene "{scene.title}": {s.location} ({place}, {s.time_of_day.value}), with {cast}.'


def line_context(scene: Scene, index: int) -> str:
    line = scene.lines[index]
    speaker = scene.character(line.speaker).name
    to = _addressee(scene, line)
    to_text = f" to {scene.character(to).name}" if to else ""
    action = f", while {speaker} {line.action}" if line.action else ""
    how = f"{line.emotion.value}, {DELIVERY_WORDS[line.delivery]}{action}"
    return f'{scene_context(scene)} Line {index + 1} of {len(scene.lines)}: {speaker} says{to_text} ({how}): "{line.text}"'


def _scene_fields(scene: Scene) -> dict[str, str]:
    a, s = scene.atmosphere, scene.setting
    events = [c.cue for c in a.sounds] + [ln.action for ln in scene.lines if ln.action]
    return {
        "mood": a.mood.value,
        "music": f"{a.music.mood.value} music" if a.music else "no music",
        "ambience": _names(a.ambience) or "no ambience",
        "events": _names(events) or "nothing scripted",
        "lighting": s.lighting,
        "location": s.location,
        "time": s.time_of_day.value,
        "characters": _names(c.name for c in scene.characters),
    }


def _line_fields(scene: Scene, index: int) -> dict[str, str]:
    line = scene.lines[index]
    name = lambda cid: scene.character(cid).name  # noqa: E731
    to = _addressee(scene, line)
    prev = scene.lines[index - 1].speaker if index > 0 else None
    return {
        "speaker": name(line.speaker),
        "addressee": name(to) if to else "the others",
        "emotion": line.emotion.value,
        "delivery": SCRIPTED_AS[line.delivery],
        "action": line.action or "",
        "text": line.text,
        "cue": _names(_cues(scene, index)),
        "prev_speaker": name(prev) if prev else "",
        "others": _names(name(c) for c in _on_screen_others(scene, index)),
    }


def _ask(mode: FailureMode, level: str, fields: dict[str, str]) -> str:
    wording = load_wording().modes.get(mode.id, {})
    text = wording.get(level)
    if text is None:  # no bespoke wording: ask from the definition
        return f"Does this show {mode.name.lower()}? ({mode.definition})"
    return text.format(**fields)


# ---------------------------------------------------------------- options


def yes_no_options() -> tuple[Option, ...]:
    return (Option(id="yes", text="Yes"), Option(id="no", text="No"))


def pair_options() -> tuple[Option, ...]:
    return (Option(id="A", text="Clip A"), Option(id="B", text="Clip B"))


def mode_options(sub: SubDimension) -> tuple[Option, ...]:
    return tuple(Option(id=m.id, text=m.name, mode=m.id) for m in sub.modes) + (
        Option(id=NONE_OPTION, text="None of these"),
    )


# ---------------------------------------------------------------- scene items


class _Maker:
    """Builds items for one subject (a scene, or a drama's chain) with a shared id recipe."""

    def __init__(self, level: Level, hashes: Sequence[str], version: str, **where: Any):
        self.level, self.hashes, self.version, self.where = level, list(hashes), version, where
        self.items: list[QAItem] = []

    def add(self, fmt: Format, key: str, sub: str, modes: Sequence[str], question: str,
            options: tuple[Option, ...], slot: dict[str, Any] | None = None, bins: int | None = None) -> None:
        slot = slot or {}
        template = f"{self.level.value}.{fmt.value}:{key}"
        self.items.append(QAItem(
            id=item_id(template, self.version, self.hashes, slot), template=template, template_version=self.version,
            level=self.level, format=fmt, sub_dimension=sub, modes=tuple(modes), question=question,
            options=options, slot=slot, bins=bins, bin_s=BIN_S, **self.where,
        ))


def _pairwise_question(context: str, mode: FailureMode, what: str = "this scene", where: str = "") -> str:
    explain = f" ({mode.definition})" if what == "this scene" else ""
    return (f"{context} Two renderings of {what}, clip A and clip B. Which one shows more "
            f"{mode.name.lower()}{where}?{explain}")


def _temporal_question(context: str, mode: FailureMode, sub: SubDimension, bins: int, what: str = "video") -> str:
    explain = f" ({mode.definition})" if what == "video" else ""
    return (f"{context} The {what} is cut into {bins} intervals of {BIN_S:g} seconds, numbered 0 to {bins - 1}. "
            f"In which intervals does {mode.name.lower()} occur?{explain} "
            f"Also name the primary {sub.name.lower()} failure, or none.")


def _choice_items(make: "_Maker", sub: SubDimension, single_question: str, multi_question: str) -> None:
    """The sub-dimension's two choice items: the dominant mode (or none), and every mode present."""
    modes = [m.id for m in sub.modes]
    make.add(Format.mcq_single, sub.code, sub.code, modes, single_question, mode_options(sub))
    make.add(Format.mcq_multi, sub.code, sub.code, modes, multi_question, mode_options(sub))


def scene_items(scene: Scene, taxonomy: Taxonomy | None = None) -> list[QAItem]:
    """Every item about one clip of a scene: all five formats for each mode that applies."""
    taxonomy = taxonomy or load_taxonomy()
    wording = load_wording()
    make = _Maker(Level.scene, [scene.content_hash()], wording.version, scene=scene.id, scenes=(scene.id,))
    context = scene_context(scene)
    fields = _scene_fields(scene)
    bins = plan_timeline(scene).bins(BIN_S)
    for sub in taxonomy.sub_dimensions:
        applicable = [m for m in sub.modes if scene_applies(m, scene)]
        for mode in applicable:
            if mode.scope is Scope.line:
                for i in range(len(scene.lines)):
                    if line_applies(mode, scene, i):
                        question = f"{line_context(scene, i)} {_ask(mode, 'line', _line_fields(scene, i))}"
                        make.add(Format.yes_no, mode.id, sub.code, [mode.id], question, yes_no_options(), {"line": i})
                        # segment-level comparison: the same line in two renderings
                        make.add(Format.pairwise, mode.id, sub.code, [mode.id],
                                 _pairwise_question(line_context(scene, i), mode, where=" on this line"),
                                 pair_options(), {"line": i})
            else:
                make.add(Format.yes_no, mode.id, sub.code, [mode.id], f"{context} {_ask(mode, 'scene', fields)}",
                         yes_no_options())
            make.add(Format.pairwise, mode.id, sub.code, [mode.id], _pairwise_question(context, mode), pair_options())
            make.add(Format.temporal, mode.id, sub.code, [mode.id], _temporal_question(context, mode, sub, bins),
                     mode_options(sub), bins=bins)
        if applicable:
            name = sub.name.lower()
            _choice_items(make, sub,
                          f'{context} Which {name} failure is most prominent in this clip? Choose one, or "none".',
                          f'{context} Which of these {name} failures occur in this clip? Choose all that apply, or "none".')
    return make.items


# ---------------------------------------------------------------- drama items


def drama_context(drama: Drama, scenes: Sequence[Scene]) -> str:
    parts = [f'{k + 1}. "{s.title}" ({s.setting.location}, {s.setting.time_of_day.value})' for k, s in enumerate(scenes)]
    return f'Short drama "{drama.title}", {len(scenes)} scenes in order: {"; ".join(parts)}.'


def _cast(scenes: Sequence[Scene]) -> list[str]:
    names: dict[str, str] = {}
    for s in scenes:
        for c in s.characters:
            names.setdefault(c.id, c.name)
    return list(names.values())


def boundary_applies(mode_id: str, before: Scene, after: Scene) -> bool:
    """Whether the cut from `before` to `after` can show the mode."""
    same_place = before.setting.location == after.setting.location
    if mode_id in SAME_PLACE_MODES:
        return same_place
    if mode_id == "ec.artificial_environment_transition":
        return not same_place
    if mode_id == "mc.music_tone_drift":
        return before.atmosphere.music is not None and after.atmosphere.music is not None
    if mode_id == "ct.character_continuity_break":
        return bool({c.id for c in before.characters} & {c.id for c in after.characters})
    return mode_id in {"mc.visual_mood_drift", "ec.missing_scene_transition"}


def drama_items(drama: Drama, scenes: Sequence[Scene], taxonomy: Taxonomy | None = None) -> list[QAItem]:
    """Items about a drama's chain of clips: continuity and narrative across its scenes."""
    taxonomy = taxonomy or load_taxonomy()
    wording = load_wording()
    if [s.id for s in scenes] != list(drama.scenes):
        raise ValueError(f"drama {drama.id!r}: scenes given {[s.id for s in scenes]} do not match {drama.scenes}")
    # the drama id joins its scenes' hashes so two dramas chaining the same scenes stay distinct
    make = _Maker(Level.drama, [drama.id] + [s.content_hash() for s in scenes], wording.version, drama=drama.id,
                  scenes=tuple(drama.scenes))
    context = drama_context(drama, scenes)
    cast = _names(_cast(scenes))
    scene_bins = [plan_timeline(s).bins(BIN_S) for s in scenes]
    bins = sum(scene_bins)
    timing = f" Scene by scene, the chain holds {', '.join(str(b) for b in scene_bins)} intervals."
    for sub in taxonomy.sub_dimensions:
        modes = [m for m in sub.modes if m.id in DRAMA_MODES]
        for mode in modes:
            if mode.id == "mc.music_tone_drift" and sum(s.atmosphere.music is not None for s in scenes) < 2:
                continue
            make.add(Format.yes_no, mode.id, sub.code, [mode.id],
                     f"{context} {_ask(mode, 'drama', {'cast': cast})}", yes_no_options())
            for k in range(len(scenes) - 1):
                before, after = scenes[k], scenes[k + 1]
                if boundary_applies(mode.id, before, after):
                    shared = [c.name for c in after.characters if c.id in {b.id for b in before.characters}]
                    fields = {"cast": _names(shared), "before": before.title, "after": after.title}
                    make.add(Format.yes_no, mode.id, sub.code, [mode.id],
                             f"{context} {_ask(mode, 'boundary', fields)}", yes_no_options(), {"boundary": k})
            make.add(Format.pairwise, mode.id, sub.code, [mode.id],
                     _pairwise_question(context, mode, what="this drama"),
                     pair_options())
            make.add(Format.temporal, mode.id, sub.code, [mode.id],
                     _temporal_question(context + timing, mode, sub, bins, what="chain of clips, played in order,"),
                     mode_options(sub), {"scene_bins": scene_bins}, bins=bins)
        if modes:
            name = sub.name.lower()
            _choice_items(make, sub,
                          f'{context} Across the scenes, which {name} failure is most prominent? Choose one, or "none".',
                          f'{context} Across the scenes, which of these {name} failures occur? Choose all that apply, or "none".')
    return make.items


def build_items(suite: Suite, taxonomy: Taxonomy | None = None) -> list[QAItem]:
    """All items of a suite: every scene's, then every drama's."""
    taxonomy = taxonomy or load_taxonomy()
    items = [item for scene in suite.scenes for item in scene_items(scene, taxonomy)]
    for drama in suite.dramas:
        items.extend(drama_items(drama, [suite.scene(sid) for sid in drama.scenes], taxonomy))
    return items


# Gold answers live in taxonomy.gold; re-exported here for callers of the builder.
from taxonomy.gold import ClipTruth, Occurrence, Truth, gold_for, gold_from_presence  # noqa: E402,F401


def labelled_items(scene: Scene, truth: ClipTruth, formats: set[Format] | None = None) -> list[QAItem]:
    """The scene's items that have a gold answer on a clip with `truth`, gold filled in.

    Pairwise items are left out (they need two clips); `formats` keeps only those formats.
    """
    out = []
    for item in scene_items(scene):
        if item.format is Format.pairwise or (formats is not None and item.format not in formats):
            continue
        gold = gold_for(item, truth)
        if gold is not None:
            out.append(item.with_gold(gold))
    return out
