"""Command groups of the `mtavg` CLI; each module exposes `register(app)`."""
