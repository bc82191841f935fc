"""Load and validate the edit catalog: code sets, validity dates, indications and rules.

The catalog is data under edits/ (TOML, read with the standard library's safe parser). Users
add their own files (extra code sets, validity windows, indication rows or rules) through
configuration. Every problem is reported with the file and the key that holds it. This is the
one module that knows the table of rule kinds.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Sequence
from pathlib import Path

from igrt_edits.catalog.model import (
    LETTERS,
    CatalogData,
    DateWindow,
    IndicationRange,
    IndicationTable,
    Letter,
    LineClass,
    ValidityWindow,
    expand_codes,
)
from igrt_edits.catalog.rule import STATUSES, Catalog, Explanation, Rule
from igrt_edits.contract import SEVERITIES
from igrt_edits.errors import EditDataError
from igrt_edits.rules.kinds import KINDS
from igrt_edits.rules.kinds.base import Kind
from igrt_edits.util.toml import Table, load_toml

STANDARD_FIELDS = (
    "rule_id",
    "code",
    "date",
    "claim_id",
    "line_number",
    "modifiers",
    "setting",
    "scheme",
    "component",
    "units",
    "related",
    "related_codes",
    "with_related",
)


def kinds() -> dict[str, type[Kind]]:
    """The rule kinds a rule file may name (`kind = "..."`), by name."""
    return dict(KINDS)


def default_edits_dir() -> Path:
    """The catalog shipped with igrt-edits."""
    package = Path(__file__).resolve().parent.parent
    packaged = package / "edits"  # inside an installed wheel
    if packaged.is_dir():
        return packaged
    return package.parent / "edits"  # a source checkout



def load_catalog(edits_dir: Path | None = None, extra: Sequence[Path] = ()) -> Catalog:
    """Load the shipped catalog (or `edits_dir`) plus the user's extra edit files."""
    base = edits_dir or default_edits_dir()
    files = _toml_files(base) + [f for path in extra for f in _toml_files(Path(path))]
    documents = [(path, load_toml(path, EditDataError)) for path in files]
    meta = {"version": "unversioned", "title": "", "policy": ""}
    catalog_version: int | None = None
    carc: dict[str, str] = {}
    raw_sets: dict[str, tuple[list[str], Table]] = {}
    raw_classes: list[Table] = []
    raw_validity: list[Table] = []
    letters: dict[str, Letter] = {}
    ranges: list[IndicationRange] = []
    raw_tags: list[Table] = []
    rule_tables: list[Table] = []
    for path, document in documents:
        top = Table(document, str(path), EditDataError)
        if "id" in document:
            rule_tables.append(top)
            continue
        for key in ("version", "title", "policy"):
            if key in document:
                meta[key] = top.text(key)
        if "catalog_version" in document:
            catalog_version = top.get("catalog_version", int)
        carc_table = top.table("carc", None)
        if carc_table is not None:
            carc.update({code: carc_table.text(code) for code in list(carc_table.data)})
        sets = top.table("sets", None)
        if sets is not None:
            for name in sets.data:
                raw_sets[name] = (sets.strings(name), sets)
        classes = top.table("classes", None)
        if classes is not None:
            raw_classes.extend(classes.table(name) for name in list(classes.data))
        raw_validity.extend(top.tables("code"))
        letter_table = top.table("letters", None)
        if letter_table is not None:
            letters.update(_letters(letter_table))
        ranges.extend(_range(t) for t in top.tables("range"))
        tag_table = top.table("tags", None)
        if tag_table is not None:
            raw_tags.extend(tag_table.table(name) for name in list(tag_table.data))
        top.finish()
    data = CatalogData()
    data.sets = _resolve_sets(raw_sets)
    data.classes = {t.where.rsplit(".", 1)[-1]: _line_class(t, data) for t in raw_classes}
    data.validity = _validity(raw_validity, data.sets)
    data.indications = _indications(letters, ranges, _implied_tags(raw_tags, data))
    rules = _rules(rule_tables, data)
    names = [str(f) for f in files]
    return Catalog(
        meta["version"], meta["title"], meta["policy"], data, rules, names, carc, catalog_version
    )


def _toml_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*.toml") if not p.name.startswith("."))
    if path.is_file():
        return [path]
    raise EditDataError(f"{path}: no such edit file or directory")


def _resolve_sets(raw: dict[str, tuple[list[str], Table]]) -> dict[str, frozenset[str]]:
    resolved: dict[str, frozenset[str]] = {}

    def resolve(name: str, trail: tuple[str, ...]) -> frozenset[str]:
        if name in resolved:
            return resolved[name]
        items, table = raw[name]
        deps = {}
        for item in items:
            if item.startswith("@"):
                ref = item[1:].lower()
                if ref in trail:
                    raise table.fail(name, f"set {ref!r} includes itself")
                if ref not in raw:
                    raise table.fail(name, f"unknown code set {ref!r} in {item!r}")
                deps[ref] = resolve(ref, (*trail, ref))
        resolved[name] = frozenset(expand_codes(items, table, name, deps))
        return resolved[name]

    for name in raw:
        resolve(name, (name,))
    return resolved


def _line_class(table: Table, data: CatalogData) -> LineClass:
    name = table.where.rsplit(".", 1)[-1]
    base = data.line_class(table.text("codes"), table, "codes")
    modality = table.strings("modality", None)
    not_modality = table.strings("not_modality", None)
    table.finish()
    return LineClass(
        name,
        base.codes,
        frozenset(m.lower() for m in modality) if modality is not None else None,
        frozenset(m.lower() for m in not_modality) if not_modality is not None else None,
    )


def _validity(tables: list[Table], sets: dict[str, frozenset[str]]) -> list[ValidityWindow]:
    windows: list[ValidityWindow] = []
    for table in tables:
        codes = expand_codes(table.strings("codes"), table, "codes", sets)
        window = DateWindow(table.date("from"), table.date("through"))
        if window.start and window.end and window.start > window.end:
            raise table.fail("from", f"{window.start} is after through {window.end}")
        use = table.table("use_instead", None)
        use_instead = {}
        if use is not None:
            for key in list(use.data):
                if key not in ("OPPS", "MPFS", "any"):
                    raise use.fail(key, "expected OPPS, MPFS or any")
                use_instead[key] = use.text(key)
        table.finish()
        windows.extend(ValidityWindow(c, window, use_instead, table.where) for c in sorted(codes))
    _check_overlaps(windows)
    return windows


def _check_overlaps(windows: list[ValidityWindow]) -> None:
    by_code: dict[str, list[ValidityWindow]] = {}
    for w in windows:
        by_code.setdefault(w.code, []).append(w)
    for code, entries in by_code.items():
        ordered = sorted(entries, key=lambda w: w.window.start.toordinal() if w.window.start else 0)
        for before, after in itertools.pairwise(ordered):
            end = before.window.end.toordinal() if before.window.end else float("inf")
            start = after.window.start.toordinal() if after.window.start else 0
            if start <= end:
                raise EditDataError(
                    f"{after.source}: codes: validity windows of {code} overlap"
                    f" ({before.window.describe()} in {before.source};"
                    f" {after.window.describe()})"
                )


def _letters(table: Table) -> dict[str, Letter]:
    out = {}
    for letter in list(table.data):
        if letter not in LETTERS:
            raise table.fail(letter, f"indication letters are A-P, not {letter!r}")
        entry = table.table(letter)
        out[letter] = Letter(letter, entry.text("indication"), tuple(entry.strings("requires", [])))
        entry.finish()
    return out


def _range(table: Table) -> IndicationRange:
    letter = table.text("letter")
    start, end = table.text("from"), table.text("to")
    row = IndicationRange(
        id=f"{letter}-{start}",
        letter=letter,
        start=start.replace(".", "").upper(),
        end=end.replace(".", "").upper(),
        label=table.text("label", ""),
        optional=table.get("optional", bool, False),
    )
    table.finish()
    if row.start > row.end:
        raise table.fail("from", f"{start} sorts after to {end}")
    return row


def _implied_tags(tables: list[Table], data: CatalogData) -> dict[str, tuple[LineClass, ...]]:
    """`[tags.<tag>] implied_by = [classes]`: lines of a patient-day that stand for the tag."""
    implied = {}
    for table in tables:
        tag = table.where.rsplit(".", 1)[-1]
        names = table.strings("implied_by")
        implied[tag] = tuple(data.line_class(n, table, "implied_by") for n in names)
        table.finish()
    return implied


def _indications(
    letters: dict[str, Letter],
    ranges: list[IndicationRange],
    implied: dict[str, tuple[LineClass, ...]],
) -> IndicationTable:
    for row in ranges:
        if row.letter not in letters:
            raise EditDataError(f"indication range {row.id}: letter {row.letter!r} is not defined")
    return IndicationTable(letters, tuple(ranges), implied)


def _rules(tables: list[Table], data: CatalogData) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for table in tables:
        rule = _rule(table, data)
        if rule.id in rules:
            raise table.fail("id", f"{rule.id} is already defined in {rules[rule.id].source}")
        rules[rule.id] = rule
    return dict(sorted(rules.items()))


def _rule(table: Table, data: CatalogData) -> Rule:
    rule_id = table.text("id")
    if not re.match(r"^[A-Z]+[0-9]{3}$", rule_id):
        raise table.fail("id", f"{rule_id!r} is not a rule id like IGRT004")
    name = table.text("name")
    if not re.match(r"^[a-z0-9]+(-[a-z0-9]+)*$", name):
        raise table.fail("name", f"{name!r} is not a lower-case slug")
    kind_name = table.choice("kind", KINDS)
    kind = KINDS[kind_name].from_params(table, data)
    explanation = table.table("explanation")
    rule = Rule(
        id=rule_id,
        name=name,
        severity=table.choice("severity", SEVERITIES),
        carc=str(table.get("carc", (str, int))),
        policy_ref=table.text("policy_ref"),
        summary=table.text("summary"),
        message=table.text("message"),
        status=table.choice("status", STATUSES, "stable"),
        explanation=Explanation(
            what=explanation.text("what"),
            why=explanation.text("why"),
            fix=explanation.text("fix"),
            flagged_example=explanation.text("flagged_example"),
            clean_example=explanation.text("clean_example"),
        ),
        kind=kind,
        source=table.where,
    )
    explanation.finish()
    table.finish()
    templates = [rule.message, *kind.templates()]
    for template in templates:
        _check_template(template, (*STANDARD_FIELDS, *kind.fields), table)
    return rule


def _check_template(template: str, allowed: Sequence[str], table: Table) -> None:
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise table.fail("message", f"not a valid template ({exc})") from exc
    for name in names:
        if name not in allowed:
            raise table.fail("message", f"unknown field {{{name}}} (known: {', '.join(allowed)})")
