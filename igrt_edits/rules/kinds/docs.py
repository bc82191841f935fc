"""A rule kind's documentation: its class docstring, in fixed sections (as sqlfluff's rules).

A kind's docstring reads:

    One line: what the kind flags.

    Flags:
        In more words: which lines, when, and what is reported with them.

    Parameters:
        name (type): what it means (continued on lines indented further).

    Message fields:
        name: what the field holds (only for a kind that adds fields to the standard ones).

    Anti-pattern:
        A billing pattern a rule of this kind flags.

    Best practice:
        The same service billed right.

A kind without parameters says so in a Parameters section that begins with "None". The
`kinds` and `explain` commands print these sections; a test holds every kind to the shape.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

SECTIONS = ("Flags", "Parameters", "Message fields", "Anti-pattern", "Best practice")
OPTIONAL = frozenset({"Message fields"})
PARAMETER = re.compile(r"^(\w+) \(([^()]+)\): (.+)$")
FIELD = re.compile(r"^(\w+): (.+)$")


@dataclass(frozen=True)
class Entry:
    """One documented parameter (with its type) or message field (type empty)."""

    name: str
    type: str
    meaning: str


@dataclass(frozen=True)
class KindDoc:
    summary: str
    sections: dict[str, str]
    """Section title -> its text, dedented, in SECTIONS order."""
    parameters: tuple[Entry, ...]
    fields: tuple[Entry, ...]


def parse_doc(owner: type, required: tuple[str, ...] | None = None) -> KindDoc:
    """The documentation of `owner` (a kind class), or ValueError saying what is off.

    `required` names the sections that must be there (default: all but the optional ones).
    """
    required = required or tuple(s for s in SECTIONS if s not in OPTIONAL)
    doc = inspect.getdoc(owner) or ""
    head, _, rest = doc.partition("\n\n")
    if not head.strip() or "\n" in head.strip():
        raise ValueError(f"{owner.__name__}: the docstring must open with a one-line summary")
    sections = _sections(owner.__name__, rest)
    missing = [s for s in required if s not in sections]
    if missing:
        raise ValueError(f"{owner.__name__}: no section {', '.join(missing)}")
    parameters = _entries(owner.__name__, sections.get("Parameters", ""), PARAMETER)
    fields = _entries(owner.__name__, sections.get("Message fields", ""), FIELD)
    return KindDoc(head.strip(), sections, parameters, fields)


def _sections(owner: str, text: str) -> dict[str, str]:
    """Section title -> dedented body; titles known, in order, each once."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line and not line.startswith(" "):
            title = line.rstrip(":")
            if not line.endswith(":") or title not in SECTIONS:
                known = ", ".join(SECTIONS)
                raise ValueError(f"{owner}: {line!r} is not a section title ({known})")
            if title in found or any(SECTIONS.index(t) > SECTIONS.index(title) for t in found):
                raise ValueError(f"{owner}: section {title} out of order or repeated")
            current = found.setdefault(title, [])
        elif current is None:
            raise ValueError(f"{owner}: text before the first section title")
        else:
            current.append(line[4:] if line.startswith("    ") else line.strip())
    sections = {title: "\n".join(lines).strip() for title, lines in found.items()}
    empty = [title for title, body in sections.items() if not body]
    if empty:
        raise ValueError(f"{owner}: section {empty[0]} is empty")
    return sections


def _entries(owner: str, body: str, shape: re.Pattern[str]) -> tuple[Entry, ...]:
    """The entries of a Parameters or Message fields section (none for a body "None ...")."""
    if not body or body.startswith("None"):
        return ()
    entries: list[list[str]] = []
    for line in body.splitlines():
        if line.startswith(" ") and entries:
            entries[-1][-1] += " " + line.strip()
            continue
        match = shape.match(line)
        if match is None:
            raise ValueError(f"{owner}: {line!r} is not `{_shape_name(shape)}`")
        entries.append(list(match.groups()))
    return tuple(Entry(e[0], e[1] if len(e) == 3 else "", e[-1]) for e in entries)


def _shape_name(shape: re.Pattern[str]) -> str:
    return "name (type): meaning" if shape is PARAMETER else "name: meaning"
