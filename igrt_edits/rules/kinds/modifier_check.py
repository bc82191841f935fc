"""Rule kind: modifiers a code must not carry, or must carry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from igrt_edits.catalog.model import CatalogData, DateWindow, LineClass
from igrt_edits.rules.kinds.base import Kind, RunOptions
from igrt_edits.rules.lines import Hits, Lines, Related
from igrt_edits.util.toml import Table


@dataclass(frozen=True)
class ModifierRule:
    line_class: LineClass
    forbid: tuple[str, ...]
    require: tuple[str, ...]
    window: DateWindow
    message: str


@dataclass(frozen=True)
class ModifierCheck(Kind):
    """Flag a line whose modifiers contradict its code's professional/technical split.

    Flags:
        A line of a check's codes that carries a modifier the check forbids, or lacks one it
        requires, on a service date in the check's window. Checks are tried in order; the
        first that fails speaks for the line (its own message).

    Parameters:
        checks (array of tables): `[[checks]]` entries, each with `codes` (a class name),
            `forbid` or `require` (a list of modifiers), an optional `effective` window
            (`from` / `through`) and its own `message`.

    Message fields:
        modifier: the modifier present (forbid) or missing (require).

    Anti-pattern:
        A professional component (26) on a technical-only delivery code (77412-26), TC on
        G6017, which has no split, or 77387 in 2026 without the 26 it now requires.

    Best practice:
        77412 without modifier on the hospital claim; 77387-26 on the physician claim.
    """

    name = "modifier_check"
    fields = ("modifier",)
    checks: tuple[ModifierRule, ...]

    @classmethod
    def from_params(cls, rule: Table, catalog: CatalogData) -> ModifierCheck:
        checks = []
        for table in rule.tables("checks"):
            line_class = catalog.line_class(table.text("codes"), table, "codes")
            forbid = tuple(table.strings("forbid", []))
            require = tuple(table.strings("require", []))
            if not forbid and not require:
                raise table.fail("forbid", "a check needs forbid or require")
            window = DateWindow.parse(table.table("effective", None))
            checks.append(ModifierRule(line_class, forbid, require, window, table.text("message")))
            table.finish()
        if not checks:
            raise rule.fail("checks", "needs at least one [[checks]] entry")
        return cls(tuple(checks))

    def find(self, lines: Lines, options: RunOptions) -> Hits:
        taken = np.zeros(lines.n, dtype=bool)  # the first failing check speaks for a line
        found, which, modifier = [], [], []
        for index, check in enumerate(self.checks):
            rows = np.flatnonzero(lines.member(check.line_class))
            rows = rows[check.window.contains(lines.days[rows]) & ~taken[rows]]
            wanted = [(mod, True) for mod in check.forbid] + [(m, False) for m in check.require]
            for mod, present in wanted:
                hit = rows[lines.has_modifier(mod, rows) == present]
                hit = hit[~taken[hit]]
                taken[hit] = True
                found.append(hit)
                which.append(np.full(len(hit), index))
                modifier.append(np.full(len(hit), mod, dtype=object))
        rows, which, modifier = (np.concatenate(x) for x in (found, which, modifier))
        order = np.argsort(rows, kind="stable")
        templates = np.array([c.message for c in self.checks], dtype=object)
        return Hits(
            rows[order],
            {"modifier": modifier[order]},
            Related.none(),
            template=templates[which[order]],
        )

    def describe(self) -> list[str]:
        out = []
        for check in self.checks:
            verb = (
                f"must not carry {', '.join(check.forbid)}"
                if check.forbid
                else f"must carry {', '.join(check.require)}"
            )
            out.append(f"Codes in {check.line_class.name} {verb} ({check.window.describe()}).")
        return out

    def classes(self) -> list[LineClass]:
        return [c.line_class for c in self.checks]

    def templates(self) -> list[str]:
        return [c.message for c in self.checks]
