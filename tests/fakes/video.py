"""What the fake video-generation APIs (Veo, Sora) share: paid create calls, scripted faults, jobs that finish after polls."""

from __future__ import annotations

from typing import Any

from .base import FakeServer, Fault, Faults


class VideoJobFake(FakeServer):
    """A video API whose jobs finish after `polls_to_finish` polls; `script` lists faults for the next create calls.

    `creates` counts accepted (paid) create calls, `create_attempts` every create request, `polls`
    every status request; `requests` keeps each create request's body.
    """

    def __init__(self, *, polls_to_finish: int = 2, script: list[str | Fault] | None = None, **kwargs: Any):
        super().__init__(faults=Faults(script=list(script or [])), **kwargs)
        self.polls_to_finish = polls_to_finish
        self.creates = 0
        self.create_attempts = 0
        self.polls = 0
        self.requests: list[dict[str, Any]] = []

    def attempt_create(self, request: dict[str, Any]) -> str | None:
        """Count and keep a create request; the kind of the scripted fault that answers it, if any."""
        with self.lock:
            self.create_attempts += 1
            self.requests.append(request)
        fault = self.pick_fault()
        return fault.kind if fault else None
