"""`igrt-edits rules` and `igrt-edits explain`: the documentation each rule carries."""

from __future__ import annotations

import textwrap

from rich.console import Console
from rich.table import Table

from igrt_edits.catalog.rule import Catalog, Rule
from igrt_edits.report.kinds import print_sections
from igrt_edits.report.table import SEVERITY_STYLE
from igrt_edits.rules.engine import RuleSet


def print_rules(console: Console, catalog: Catalog, ruleset: RuleSet) -> None:
    active = {r.id: r for r in ruleset.rules}
    table = Table(
        box=None,
        padding=(0, 1),
        title=f"{catalog.title} (catalog version {catalog.catalog_version},"
        f" edit data {catalog.version})",
        title_justify="left",
    )
    table.add_column("id", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("flags", overflow="fold")
    for rule in catalog.rules.values():
        shown = active.get(rule.id)
        severity = shown.severity if shown else "off"
        style = SEVERITY_STYLE.get(severity, "dim")
        status = "" if rule.status == "stable" else f" ({rule.status})"
        table.add_row(rule.id, rule.name, f"[{style}]{severity}[/]{status}", rule.summary)
    console.print(table)


def paragraph(text: str) -> str:
    """A rule's explanation text (indented, wrapped in its edit file) as one paragraph."""
    return " ".join(textwrap.dedent(text).split())


def print_explanation(console: Console, catalog: Catalog, rule: Rule) -> None:
    style = SEVERITY_STYLE.get(rule.severity, "")
    console.print(f"[bold]{rule.id} {rule.name}[/]  [{style}]{rule.severity}[/]  ({rule.status})")
    console.print(rule.summary)
    console.print()
    for title, text in (
        ("What it checks", rule.explanation.what),
        ("Why it is wrong", rule.explanation.why),
        ("How to fix the claim", rule.explanation.fix),
    ):
        console.print(f"[bold]{title}[/]")
        console.print(paragraph(text))
        console.print()
    console.print("[bold]Example (flagged)[/]")
    console.print(textwrap.dedent(rule.explanation.flagged_example).strip())
    console.print("[bold]Example (clean)[/]")
    console.print(textwrap.dedent(rule.explanation.clean_example).strip())
    console.print()
    console.print("[bold]How it is checked[/]")
    for line in rule.kind.describe():
        console.print(f"  {line}")
    kind = type(rule.kind)
    console.print(f"  Rule kind: {kind.name} (igrt-edits kinds {kind.name} documents it)")
    console.print()
    print_sections(console, kind, ("Flags", "Parameters"))
    console.print("[bold]Code sets[/]")
    seen = set()
    for line_class in rule.kind.classes():
        if line_class.name in seen:
            continue
        seen.add(line_class.name)
        narrowed = ""
        if line_class.modality:
            narrowed = f" (beam modality {', '.join(sorted(line_class.modality))})"
        if line_class.not_modality:
            narrowed = f" (beam modality not {', '.join(sorted(line_class.not_modality))})"
        console.print(f"  {line_class.name}{narrowed}: {', '.join(sorted(line_class.codes))}")
    console.print()
    carc = catalog.carc.get(rule.carc, "")
    console.print(f"[bold]Suggested adjustment[/] CARC {rule.carc}" + (f": {carc}" if carc else ""))
    console.print(f"[bold]Source[/] {rule.policy_ref}")
    console.print(f"[bold]Defined in[/] {rule.source}")

