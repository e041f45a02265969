"""The `mtavg` command line: one typer app; each command group lives in `flows/commands/`."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import typer

from storage import mtavg_home

COMMAND_MODULES = [
    "flows.commands.taxonomy",
    "flows.commands.scenes",
    "flows.commands.questions",
    "flows.commands.render",
    "flows.commands.diagnose",
    "flows.commands.judges",
    "flows.commands.audit",
]

app = typer.Typer(
    name="mtavg",
    help="Audit multi-talker audio-video generators: render scenes, ask judges, profile failures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def configure_environment() -> None:
    """Local state lives under $MTAVG_HOME (default ./.mtavg): the store and, unless set, PREFECT_HOME."""
    home = mtavg_home()
    os.environ.setdefault("PREFECT_HOME", str(home / "prefect"))
    # Prefect's SQLite database cannot be opened in a folder that does not exist yet (fresh checkout)
    Path(os.environ["PREFECT_HOME"]).expanduser().mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # the temporary local server needs longer than Prefect's 20 s default to start on a busy 2-core box
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


configure_environment()  # before any command module can import prefect and read its settings
for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
