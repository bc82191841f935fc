"""`igrt-edits kinds [NAME]`: the rule kinds and the documentation each carries in its class.

The sections (what it flags, parameters, message fields, anti-pattern, best practice) are the
kind's docstring, parsed by `rules.kinds.docs`; `explain` prints the first two for a rule.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping

from rich.console import Console
from rich.table import Table

from igrt_edits.catalog.load import STANDARD_FIELDS
from igrt_edits.catalog.rule import Catalog
from igrt_edits.rules.kinds.base import Kind, Target
from igrt_edits.rules.kinds.docs import Entry, parse_doc

INDENT = "  "


def print_kinds(console: Console, kinds: Mapping[str, type[Kind]], catalog: Catalog) -> None:
    """One row per kind: its name, what it flags and the catalog's rules of that kind."""
    table = Table(
        box=None,
        padding=(0, 1),
        title='Rule kinds (a rule file names one with kind = "NAME"; igrt-edits kinds NAME)',
        title_justify="left",
    )
    table.add_column("kind", no_wrap=True)
    table.add_column("flags", overflow="fold")
    table.add_column("rules", overflow="fold")
    for name, kind in kinds.items():
        table.add_row(name, kind.doc().summary, ", ".join(_rules_of(catalog, name)) or "-")
    console.print(table)


def print_kind(console: Console, kind: type[Kind], catalog: Catalog) -> None:
    """The kind's whole documentation, and the rules of the catalog that use it."""
    doc = kind.doc()
    console.print(f"[bold]{kind.name}[/]")
    _paragraphs(console, doc.summary, indent="")
    console.print()
    print_sections(console, kind, ("Flags", "Parameters", "Message fields"))
    for title in ("Anti-pattern", "Best practice"):
        _title(console, title)
        _paragraphs(console, doc.sections[title])
        console.print()
    rules = _rules_of(catalog, kind.name)
    _title(console, "Rules of this kind")
    _paragraphs(console, ", ".join(rules) if rules else "none in this catalog")


def print_sections(console: Console, kind: type[Kind], titles: Iterable[str]) -> None:
    """The named sections of a kind's documentation (Parameters and Message fields as lists;
    a kind with a `target` parameter is followed by the target's own keys)."""
    doc = kind.doc()
    for title in titles:
        if title not in doc.sections:
            continue
        _title(console, title)
        if title == "Parameters" and doc.parameters:
            _entries(console, doc.parameters)
        elif title == "Message fields":
            _entries(console, doc.fields)
            _paragraphs(console, "and the standard fields: " + ", ".join(STANDARD_FIELDS))
        else:
            _paragraphs(console, doc.sections[title])
        console.print()
        if title == "Parameters" and any(p.name == "target" for p in doc.parameters):
            _title(console, "Target parameters (target = { ... })")
            _entries(console, parse_doc(Target, ("Parameters",)).parameters)
            console.print()


def _rules_of(catalog: Catalog, kind_name: str) -> list[str]:
    return [r.id for r in catalog.rules.values() if r.kind.name == kind_name]


def _title(console: Console, title: str) -> None:
    console.print(f"[bold]{title}[/]")


def _entries(console: Console, entries: Iterable[Entry]) -> None:
    """`name (type)` on a line, its meaning wrapped below it."""
    width = max(console.width - 2, 40)
    for entry in entries:
        head = f"{INDENT}{entry.name}" + (f" ({entry.type})" if entry.type else "")
        body = textwrap.fill(
            entry.meaning, width, initial_indent=INDENT * 3, subsequent_indent=INDENT * 3
        )
        console.print(f"{head}\n{body}", markup=False, highlight=False)


def _paragraphs(console: Console, text: str, indent: str = INDENT) -> None:
    """Text re-wrapped to the console, paragraph by paragraph (doc text is never markup)."""
    width = max(console.width - 2, 40)
    for paragraph in text.split("\n\n"):
        joined = " ".join(paragraph.split())
        wrapped = textwrap.fill(joined, width, initial_indent=indent, subsequent_indent=indent)
        console.print(wrapped, markup=False, highlight=False)
