"""Deployments: a nightly audit on a cron schedule, an on-demand audit and a comparison, served from one process."""

from __future__ import annotations

import os
from typing import Any

from flows.params import AuditParams, CompareParams

NIGHTLY = "nightly-audit"
ON_DEMAND = "on-demand-audit"
COMPARE = "compare-versions"


def deployments(*, cron: str = "0 3 * * *", timezone: str = "UTC", params: AuditParams | None = None, limit: int = 1) -> list[Any]:
    """The three runner deployments `mtavg serve` serves (built from the flows in this process)."""
    from prefect.schedules import Cron

    from flows.audit import audit, compare_versions

    base = (params or AuditParams()).model_dump(mode="json")
    tags = ["mtavg"]
    return [
        audit.to_deployment(name=NIGHTLY, schedule=Cron(cron, timezone=timezone), parameters={"params": base}, tags=tags + ["nightly"],
                            description="The full audit every night: default suite, flawed vs clean, probe judge.",
                            concurrency_limit=limit),
        audit.to_deployment(name=ON_DEMAND, parameters={"params": base}, tags=tags,
                            description="An audit with the parameters you choose in the form.", concurrency_limit=limit),
        compare_versions.to_deployment(name=COMPARE, parameters={"params": CompareParams().model_dump(mode="json")}, tags=tags,
                                       description="Compare two generator versions (or two seeds of one) and gate on regressions.",
                                       concurrency_limit=limit),
    ]


def require_server() -> str:
    """The API URL of a running Prefect server; serving against a temporary server would vanish with it."""
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        from prefect.settings import PREFECT_API_URL

        url = PREFECT_API_URL.value()
    if not url:
        raise RuntimeError("no Prefect server: start one with `prefect server start` and set PREFECT_API_URL "
                           "(e.g. export PREFECT_API_URL=http://127.0.0.1:4200/api)")
    return url


def serve_all(**kwargs: Any) -> None:
    """Serve the deployments until interrupted (runs execute in this process's subprocesses)."""
    from prefect import serve

    require_server()
    serve(*deployments(**kwargs))
