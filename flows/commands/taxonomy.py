"""`mtavg taxonomy`: the failure taxonomy as a tree, or as JSON for other tools."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from rich.tree import Tree

from flows.commands.common import console, print_json
from taxonomy import Taxonomy, load_taxonomy


def taxonomy_json(taxonomy: Taxonomy) -> dict[str, Any]:
    """The published shape: version, sub-dimensions with their modes, named groupings."""
    fields = ("id", "name", "definition", "cues", "modalities", "scope")
    return {
        "version": taxonomy.version,
        "sub_dimensions": [
            {
                "code": sub.code,
                "name": sub.name,
                "modes": [{k: v for k, v in m.model_dump(mode="json").items() if k in fields} for m in sub.modes],
            }
            for sub in taxonomy.sub_dimensions
        ],
        "groupings": taxonomy.groupings,
    }


def taxonomy_tree(taxonomy: Taxonomy, definitions: bool = False) -> Tree:
    root = Tree(f"[bold]MTAVG failure taxonomy[/] {taxonomy.version} "
                f"({len(taxonomy.sub_dimensions)} sub-dimensions, {len(taxonomy.modes)} modes)")
    for sub in taxonomy.sub_dimensions:
        note = "" if sub.paper else " [dim](mtavg's own, outside the paper's averages)[/]"
        branch = root.add(f"[bold cyan]{sub.code}[/] {escape(sub.name)}{note}")
        for mode in sub.modes:
            leaf = branch.add(f"[green]{mode.id}[/] {escape(mode.name)} "
                              f"[dim]({mode.modalities.value}, per {mode.scope.value})[/]")
            if definitions:
                leaf.add(escape(mode.definition))
                leaf.add("[dim]cues:[/] " + escape("; ".join(mode.cues)))
    groups = root.add("[bold]groupings[/]")
    for name, members in taxonomy.groupings.items():
        node = groups.add(f"[magenta]{name}[/]")
        for group, codes in members.items():
            node.add(f"{group}: {' '.join(codes)}")
    return root


def register(app: typer.Typer) -> None:
    @app.command("taxonomy")
    def taxonomy_command(
        as_json: bool = typer.Option(False, "--json", help="Print the taxonomy as JSON."),
        definitions: bool = typer.Option(False, "--definitions", "-d", help="Show each mode's definition and cues."),
    ) -> None:
        """Show the failure taxonomy: sub-dimensions, failure modes, groupings."""
        taxonomy = load_taxonomy()
        if as_json:
            print_json(taxonomy_json(taxonomy))
        else:
            console.print(taxonomy_tree(taxonomy, definitions))
