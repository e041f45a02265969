"""Fit the probes' data-driven parts on labelled clips (manifests of a fitting seed range only).

Two models are fitted before thresholds: the fused speech detector (`speech_model.json`, labels =
the manifests' line spans) and the script → picture-statistics model (`grading_model.json`, from
clips without lighting, colour or grade-drift faults). Judging never reads a manifest; only this
fitting step does, on clips kept apart from the ones accuracy is reported on.
"""

from __future__ import annotations

from collections.abc import Sequence

from diagnosers.media import ClipMedia
from generators.base import Clip


def fit_probe_models(samples: Sequence[tuple[ClipMedia, Clip]]) -> dict:
    """Fit the speech and grading models on (media, manifest) pairs; returns a summary."""
    from diagnosers.probes.picture import fit_grading_model
    from diagnosers.probes.speech_model import fit_speech_model

    speech = fit_speech_model((m, [(t.start, t.end) for t in man.lines]) for m, man in samples)
    def clean_of(faults: set[str]) -> list[ClipMedia]:
        return [m for m, man in samples if not ({f.fault for f in man.faults} & faults)]

    # luminance is only changed by lighting faults and grade drift; warmth and saturation by colour faults and drift
    per_target = {"luminance": clean_of({"lighting_conflict", "mood_drift"}),
                  "warmth": clean_of({"colour_conflict", "mood_drift"}),
                  "saturation": clean_of({"colour_conflict", "mood_drift"})}
    grading = fit_grading_model(per_target) if min(len(v) for v in per_target.values()) >= 10 else None
    return {"speech_frames": speech["frames"], "speech_train_accuracy": round(speech["train_accuracy"], 4),
            "grading_clips": grading["clips"] if grading else 0}
