"""Fit the probes' data-driven parts on labelled clips (manifests of a fitting seed range only).

These models are fitted before thresholds: the fused speech detector and the text → line-duration
model (`speech_model.json`; labels = where the manifests' lines are heard, and their lengths,
`speech_labels`), the script → picture-statistics model (`grading_model.json`, from clips without
lighting, colour or grade-drift faults), the music valence and drift models and the per-kind
scripted-sound references (`music_model.json`; the references read the line alignment, so they are
fitted after the speech model). Judging never reads a manifest; only this
fitting step does, on clips kept apart from the ones accuracy is reported on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from diagnosers.media import ClipMedia
from generators.base import Clip


def speech_labels(manifest: Clip) -> tuple[list[tuple[float, float]], dict[int, float]]:
    """From a fitting clip's manifest: the spans where a voice is heard (lines minus muted parts and
    silent lines), and each line's spoken length (lines cut short by a fault left out)."""
    muted = [(f.start, f.end) for f in manifest.faults if f.fault == "audio_dropout" and f.start is not None]
    silent = {f.line for f in manifest.faults if f.fault == "dropped_line"}
    cut = {f.line - 1 for f in manifest.faults if f.fault == "cut_off_turn" and f.line}
    heard: list[tuple[float, float]] = []
    for t in manifest.lines:
        if t.index in silent:
            continue
        pieces = [(t.start, t.end)]
        for a, b in muted:
            pieces = [q for x, y in pieces for q in ((x, min(y, a)), (max(x, b), y)) if q[1] - q[0] > 1e-3]
        heard += pieces
    seconds = {t.index: t.end - t.start for t in manifest.lines if t.index not in cut}
    return heard, seconds


class _OnePictureAtATime(Sequence):
    """Items holding a `ClipMedia` (or the media themselves), iterated so that only the current clip's picture
    stays decoded: a fit over hundreds of clips would otherwise hold ~100 MB of frames per clip."""

    def __init__(self, items: Sequence, media_of=lambda item: item[0]):
        self.items, self.media_of = items, media_of

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, k):
        return self.items[k]

    def __iter__(self):
        for item in self.items:
            yield item
            self.media_of(item).release_picture()


def fit_probe_models(samples: Sequence[tuple[ClipMedia, Clip]], out_dir: Path | None = None) -> dict:
    """Fit the speech, grading, music, sound-cue, action and face-scale models on (media, manifest)
    pairs; returns a summary. The models are written over the bundled files the probes read, or with
    `out_dir` into that folder instead (a trial fit: the probes, and the later fits here, still read
    the bundled models)."""
    from diagnosers.probes.actions import ACTION_MODEL, fit_action_model
    from diagnosers.probes.cues import fit_cue_reference
    from diagnosers.probes.faces import FACES_MODEL, fit_faces_model
    from diagnosers.probes.grade import GRADING_MODEL, fit_grading_model
    from diagnosers.probes.soundscape import MODEL as MUSIC_MODEL
    from diagnosers.probes.soundscape import fit_music_model
    from diagnosers.probes.speech_model import MODEL as SPEECH_MODEL
    from diagnosers.probes.speech_model import fit_speech_model

    def out(bundled: Path) -> Path:
        return bundled if out_dir is None else Path(out_dir) / bundled.name

    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    samples = _OnePictureAtATime(samples)
    speech = fit_speech_model(((m, *speech_labels(man)) for m, man in samples), out=out(SPEECH_MODEL))

    def clean_of(faults: set[str]) -> Sequence[ClipMedia]:
        return _OnePictureAtATime([m for m, man in samples.items if not ({f.fault for f in man.faults} & faults)],
                                  media_of=lambda m: m)

    # luminance is only changed by lighting faults and grade drift; warmth and saturation by colour faults and drift
    per_target = {"luminance": clean_of({"lighting_conflict", "mood_drift"}),
                  "warmth": clean_of({"colour_conflict", "mood_drift"}),
                  "saturation": clean_of({"colour_conflict", "mood_drift"})}
    grading = fit_grading_model(per_target, out=out(GRADING_MODEL)) if min(len(v) for v in per_target.values()) >= 10 else None
    music = fit_music_model(samples, out=out(MUSIC_MODEL))
    cues = fit_cue_reference(samples, out=out(MUSIC_MODEL))
    # the action model reads the speech model's aligned lines, the faces model reads both: fit them last
    actions = fit_action_model(samples, out=out(ACTION_MODEL))
    faces = fit_faces_model(samples, out=out(FACES_MODEL))
    summary = {"speech_frames": speech["frames"], "speech_train_accuracy": round(speech["train_accuracy"], 4),
               "grading_clips": grading["clips"] if grading else 0, "cue_kinds": len(cues.get("cues", cues)),
               "action_lines": actions["lines"], "face_lines": faces["face"].get("lines", 0)}
    for name, fitted in (("action_model", actions), ("music_model", music)):
        if "skipped" in fitted:  # too few clips of a kind: the model in use stays, and why is reported
            summary[f"{name}_skipped"] = fitted["skipped"]
    return summary
