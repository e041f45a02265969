"""`ProceduralGenerator.render`: faults planned, soundtrack built, shots framed, frames painted, clip muxed,
manifest written. Each stage lives in its own module; this one wires them and records ground truth."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from generators.base import (
    Clip,
    InjectedFault,
    LineTiming,
    Rendered,
    ShotTiming,
    clip_key,
    config_hash,
)
from generators.procedural.config import VERSION, ProceduralConfig
from generators.procedural.faults import (
    FAULT_NAMES,
    FaultPlan,
    PlannedFault,
    plan_faults,
)
from generators.procedural.framing import ShotLayout, layout_shot, push_to_edge, stage_order
from generators.procedural.grade import (
    Grade,
    blend,
    colour_conflict,
    lighting_conflict,
    mood_grade,
    opposite,
)
from generators.procedural.look import Look, changed_look, parse_look
from generators.procedural.painter import Painter
from generators.procedural.performance import perform
from generators.procedural.sound import Soundtrack, build_soundtrack
from generators.procedural.stage import SetDesign, design_set, drifted
from scenes import Scene, ShotSize
from storage import ComponentSpec, content_key, sha256_file

DRIFT_START = 0.35  # mood drift starts at this share of the clip
FOCUS_HALF_S = 0.8  # half the longest focus hunt (focus_hunt fault)
EDGE_PUSH = (0.7, 0.3)  # a subject_at_edge fault moves its figure 0.7 + 0.3 × severity of the way to the edge


class ProceduralGenerator:
    """Renders a scene to an MP4 with sound, injecting the faults its config asks for, and says where."""

    name = "procedural"
    version = VERSION

    def __init__(self, config: ProceduralConfig | None = None, spec: ComponentSpec | None = None):
        self.config = config or ProceduralConfig()
        self.spec = spec or ComponentSpec("procedural")
        self._backend = None

    @property
    def label(self) -> str:
        return self.spec.label

    def backend(self):
        if self._backend is None:
            from generators.voices import build_voice_backend

            self._backend = build_voice_backend(self.config.voice)
        return self._backend

    def plan(self, scene: Scene, seed: int) -> FaultPlan:
        """The faults this config injects into this scene at this seed (deterministic)."""
        cfg = self.config
        key = content_key("faults", seed, scene.content_hash(), config_hash(cfg))
        rng = np.random.default_rng(int(key, 16))
        rates = {name: cfg.rate(name) for name in FAULT_NAMES}
        forced = [name for name in cfg.faults if name in cfg.available_faults()]
        return FaultPlan(plan_faults(scene, rates, forced, rng, cfg.severity))

    def render(self, scene: Scene, seed: int, workdir: Path) -> Rendered:
        cfg = self.config
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        plan = self.plan(scene, seed)
        sound = build_soundtrack(scene, plan, backend=self.backend(), sample_rate=cfg.sample_rate, fps=cfg.fps, seed=seed,
                                 music=cfg.music, ambience=cfg.ambience, cues=cfg.sound_cues, stems_dir=workdir / "stems")
        owners = [ln.voice_owner for ln in sound.lines]
        spans = [(ln.start, ln.end) for ln in sound.lines]
        layouts = self._layouts(scene, plan, sound, owners)
        designs, looks = self._art(scene, plan, seed)
        robot = plan.get("robotic_movement")
        robotic = (robot.params["character"], layouts[robot.shot].start, layouts[robot.shot].end) if robot else None
        acting, action_times = perform(scene, plan, spans, owners, sound.n_frames, cfg.fps, robotic)
        frozen = self._frozen_span(plan, sound)
        painter = Painter(layouts, designs, looks, acting, sound.mouth, self._grade_fn(scene, plan, sound.duration_s),
                          cfg.width, cfg.height, cfg.fps, sound.n_frames, frozen, self._defocus_fn(plan, layouts, cfg.width))
        from generators.mux import AUDIO_RATE, mux_clip

        video = mux_clip(painter.frames(), cfg.fps, sound.mix, sound.sample_rate, workdir / "clip.mp4",
                         width=cfg.width, height=cfg.height, crf=cfg.crf, preset=cfg.encoder_preset, threads=cfg.encoder_threads)
        faults = [self._resolve(f, scene, sound, layouts, frozen) for f in plan]
        manifest = Clip(
            clip_key=clip_key(self, scene, seed), generator=str(self.spec.label), generator_name=self.name,
            generator_version=self.version, config_hash=config_hash(cfg), scene=scene.id, scene_hash=scene.content_hash(),
            seed=seed, video=video.name, sha256=sha256_file(str(video)), fps=cfg.fps, width=cfg.width, height=cfg.height,
            duration_s=round(sound.duration_s, 4), sample_rate=AUDIO_RATE,
            lines=[LineTiming(index=ln.index, speaker=ln.voice_owner, start=round(ln.start, 3), end=round(ln.end, 3)) for ln in sound.lines],
            shots=[ShotTiming(index=lay.index, start=round(lay.start, 3), end=round(lay.end, 3), size=lay.shot.size.value,
                              angle=lay.shot.angle.value, movement=lay.shot.movement.value, subjects=list(lay.shot.subjects),
                              positions=lay.positions()) for lay in layouts],
            faults=faults, controlled_modes=cfg.controlled_modes(), stems=dict(sound.stems),
            extra={"actions": {str(k): v for k, v in sorted(action_times.items())}, "voice": cfg.voice,
                   "stems_sample_rate": sound.sample_rate,
                   "stage_order": stage_order(scene)},
        )
        path = workdir / "manifest.json"
        path.write_text(json.dumps(manifest.model_dump(mode="json"), indent=1, sort_keys=True) + "\n")
        files = {"clip": video, "manifest": path} | {name: workdir / rel for name, rel in sound.stems.items()}
        return Rendered(video, manifest, files)

    def _layouts(self, scene: Scene, plan: FaultPlan, sound: Soundtrack, owners: list[str]) -> list[ShotLayout]:
        order = stage_order(scene)
        axis = plan.get("axis_jump")
        jump = plan.get("jump_cut")
        wander = plan.get("unmotivated_camera")
        resized = plan.get("wrong_shot_size")
        pushed = plan.get("subject_at_edge")
        out: list[ShotLayout] = []
        for s, span in enumerate(sound.timeline.shots):
            shot = scene.shots[s]
            speaker = owners[shot.lines[0]] if shot.lines else None
            size = ShotSize(resized.params["size"]) if resized is not None and resized.shot == s else None
            lay = layout_shot(scene, s, span.start, span.end, order, mirrored=axis is not None and axis.shot == s,
                              speaker=speaker, size=size)
            if pushed is not None and pushed.shot == s:  # toward the figure's own side; from the centre, the drawn side
                x = lay.placements[0].x
                direction = float(np.sign(x - 0.5)) if abs(x - 0.5) > 1e-3 else float(pushed.params["side"])
                push_to_edge(lay, direction, EDGE_PUSH[0] + EDGE_PUSH[1] * pushed.severity, self.config.height / self.config.width)
            if jump is not None and jump.shot == s:
                lay.jump_at = round(span.start + 0.5 * (span.end - span.start), 3)
            if wander is not None and wander.shot == s:
                lay.unmotivated, lay.unmotivated_amount = wander.params["move"], wander.severity
            out.append(lay)
        return out

    def _art(self, scene: Scene, plan: FaultPlan, seed: int) -> tuple[list[SetDesign], list[dict[str, Look]]]:
        base = design_set(scene.setting, scene.atmosphere, scene.id)
        looks = {c.id: parse_look(c.look, c.id) for c in scene.characters}
        drift = plan.get("backdrop_drift")
        change = plan.get("look_change")
        designs, per_shot = [], []
        moved = drifted(base, f"{scene.id}|{seed}") if drift is not None else base
        for s in range(len(scene.shots)):
            designs.append(moved if drift is not None and s >= drift.shot else base)
            shot_looks = dict(looks)
            if change is not None and s >= change.shot:
                who = change.params["character"]
                shot_looks[who] = changed_look(looks[who])
            per_shot.append(shot_looks)
        return designs, per_shot

    def _grade_fn(self, scene: Scene, plan: FaultPlan, duration: float):
        base = mood_grade(scene.setting, scene.atmosphere.mood)
        if plan.get("lighting_conflict"):
            base = lighting_conflict(base)
        if plan.get("colour_conflict"):
            base = colour_conflict(base)
        if not plan.get("mood_drift"):
            return lambda t: base
        target, t0 = opposite(base), duration * DRIFT_START

        def grade_at(t: float) -> Grade:  # quantised so frames share lookup tables
            k = max(0.0, (t - t0) / max(1e-3, duration - t0))
            return blend(base, target, round(k * 24) / 24)

        return grade_at

    @staticmethod
    def _focus_window(f: PlannedFault, layouts: list[ShotLayout]) -> tuple[float, float, float]:
        """(start, end, peak blur sigma in pixels of a 640-wide frame) of a focus hunt: centred in its shot,
        up to 1.6 s long (at most 70 % of the shot), the blur rising and falling as sin² to a peak of 2.9-4 px."""
        lay = layouts[f.shot]
        mid, half = 0.5 * (lay.start + lay.end), min(FOCUS_HALF_S, 0.35 * (lay.end - lay.start))
        return round(mid - half, 3), round(mid + half, 3), round(1.5 + 2.5 * f.severity, 2)

    def _defocus_fn(self, plan: FaultPlan, layouts: list[ShotLayout], width: int):
        """Blur sigma (pixels of this frame width) at time t: 0 except inside a focus hunt."""
        f = plan.get("focus_hunt")
        if f is None:
            return None
        start, end, peak = self._focus_window(f, layouts)
        peak *= width / 640

        def defocus_at(t: float) -> float:
            if not start < t < end:
                return 0.0
            return peak * math.sin(math.pi * (t - start) / (end - start)) ** 2

        return defocus_at

    def _frozen_span(self, plan: FaultPlan, sound: Soundtrack) -> tuple[float, float] | None:
        f = plan.get("frozen_picture")
        if f is None:
            return None
        ln = sound.lines[f.line]
        start = round(ln.start + 0.15 * (ln.end - ln.start), 3)
        return start, round(min(sound.duration_s, start + 1.0 + 1.0 * f.severity), 3)

    def _resolve(self, f: PlannedFault, scene: Scene, sound: Soundtrack, layouts: list[ShotLayout],
                 frozen: tuple[float, float] | None) -> InjectedFault:
        """The fault's measured time span and parameters, for the manifest."""
        dur = round(sound.duration_s, 3)
        lines = sound.lines
        line = lines[f.line] if f.line is not None else None
        span = (0.0, dur)
        params = dict(f.params) | sound.params.get(f.name, {})
        if f.name == "lip_sync_offset":
            span = (lines[0].start, max(ln.end for ln in lines))
        elif f.name in sound.spans:
            span = sound.spans[f.name]
        elif f.name == "voice_swap":
            who = f.params["character"]
            mine = [ln for ln in lines if ln.voice_owner == who and ln.index >= f.line]
            span = (lines[f.line].start, max([ln.end for ln in mine] or [lines[f.line].end]))
        elif f.name == "overlapping_turns":
            span = (line.start, lines[f.line - 1].end)
            params["overlap_s"] = round(lines[f.line - 1].end - line.start, 3)
        elif f.name == "cut_off_turn":
            span = (max(0.0, lines[f.line - 1].end - 0.3), line.start + 0.5)
        elif f.name == "dead_air":
            span = (lines[f.line - 1].end, line.start)
            params["gap_s"] = round(line.start - lines[f.line - 1].end, 3)
        elif f.name == "mood_drift":
            span = (dur * DRIFT_START, dur)
        elif f.name in ("axis_jump", "robotic_movement", "unmotivated_camera", "wrong_shot_size", "subject_at_edge"):
            span = (layouts[f.shot].start, layouts[f.shot].end)
            if f.name == "subject_at_edge":
                params["x"] = round(layouts[f.shot].placements[0].x, 3)
        elif f.name == "jump_cut":
            at = layouts[f.shot].jump_at
            span = (at, min(layouts[f.shot].end, at + 0.5))
        elif f.name in ("backdrop_drift", "look_change"):
            span = (layouts[f.shot].start, dur)
        elif f.name == "frozen_picture" and frozen is not None:
            span = frozen
        elif f.name == "focus_hunt":
            start, end, peak = self._focus_window(f, layouts)
            span, params["peak_blur_px"] = (start, end), peak
        elif line is not None:
            span = (line.start, line.end)
        params |= self._describe(f, scene)
        start, end = float(span[0]), float(span[1])
        return InjectedFault(fault=f.name, modes=f.modes, start=round(start, 3), end=round(max(start, end), 3),
                             severity=f.severity, params=params, line=f.line, shot=f.shot)


    @staticmethod
    def _describe(f: PlannedFault, scene: Scene) -> dict:
        """Script facts a reader of the manifest needs to see what the fault contradicts."""
        from scenes import EMOTION_AFFECT

        line = scene.lines[f.line] if f.line is not None else None
        if f.name == "expression_mismatch" and line is not None:
            v = EMOTION_AFFECT[line.emotion][0]
            return {"scripted_emotion": line.emotion.value, "shown_valence": round(-(max(0.75, abs(v))) * (1 if v >= 0 else -1), 2)}
        if f.name == "flat_delivery" and line is not None:
            return {"scripted_emotion": line.emotion.value, "delivered_emotion": "neutral"}
        if f.name == "wrong_speech_mode" and line is not None:
            return {"scripted_delivery": line.delivery.value}
        if f.name == "eyeline_failure" and line is not None:
            return {"addressee": line.addressee}
        if f.name == "action_missing" and line is not None:
            return {"action": line.action}
        if f.name == "missing_sound_cue":
            return {"cue_text": scene.atmosphere.sounds[f.params["cue"]].cue}
        if f.name in ("lighting_conflict", "colour_conflict", "mood_drift"):
            return {"scene_mood": scene.atmosphere.mood.value}
        if f.name == "jump_cut":
            return {"zoom": 1.1, "shift": 0.035}
        if f.name == "wrong_shot_size":
            return {"scripted_size": scene.shots[f.shot].size.value}
        return {}


