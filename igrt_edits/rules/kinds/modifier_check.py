"""Rule kind: modifiers a code must not carry, or must carry, on some claims."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from igrt_edits.catalog.model import CatalogData, DateWindow, LineClass
from igrt_edits.rules.kinds.base import ClaimFilter, Kind, RunOptions
from igrt_edits.rules.lines import Hits, Lines, Related
from igrt_edits.util.toml import Table


@dataclass(frozen=True)
class ModifierRule:
    line_class: LineClass
    forbid: tuple[str, ...]
    require: tuple[str, ...]
    window: DateWindow
    message: str
    claim: ClaimFilter = field(default_factory=ClaimFilter)

    def lines(self, lines: Lines) -> np.ndarray:
        """Positions of the lines this check looks at: its codes, dates and claims."""
        mask = lines.member(self.line_class) & self.window.contains(lines.days)
        claim = self.claim.mask(lines)
        return np.flatnonzero(mask if claim is None else mask & claim)

    def failures(self) -> list[tuple[str | None, bool]]:
        """(modifier, present) pairs that fail a line; a check with neither forbid nor require
        fails every line it looks at (modifier None)."""
        wanted = [(mod, True) for mod in self.forbid] + [(m, False) for m in self.require]
        return wanted or [(None, True)]


@dataclass(frozen=True)
class ModifierCheck(Kind):
    """Flag a line whose modifiers contradict its code's professional/technical split.

    Flags:
        A line of a check's codes that carries a modifier the check forbids, or lacks one it
        requires, on a service date in the check's window and on a claim its claim conditions
        allow. A check with claim conditions may leave out `forbid` and `require`: then every
        line of its codes on such claims fails (a code the claim may not bill at all there).
        Checks are tried in order; the first that fails speaks for the line (its own
        message), so a check for one claim type can come before a general one.

    Parameters:
        checks (array of tables): `[[checks]]` entries, each with `codes` (a class name),
            `forbid` or `require` (a list of modifiers), an optional `effective` window
            (`from` / `through`), optional claim conditions `claim_types` (professional,
            institutional: the derived claim type) and `places_of_service` (two-digit
            codes), and its own `message`.

    Message fields:
        modifier: the modifier present (forbid) or missing (require).
        place_of_service: the line's place of service.

    Anti-pattern:
        A professional component (26) on a technical-only delivery code (77412-26), TC on
        G6017, which has no split, 77387 in 2026 without the 26 it now requires, or a
        physician's claim billing 77014 without 26 at place of service 22.

    Best practice:
        77412 without modifier on the hospital claim; 77387-26 on the physician claim; at a
        hospital place of service the physician bills only the professional component.
    """

    name = "modifier_check"
    fields = ("modifier", "place_of_service")
    checks: tuple[ModifierRule, ...]

    @classmethod
    def from_params(cls, rule: Table, catalog: CatalogData) -> ModifierCheck:
        checks = []
        for table in rule.tables("checks"):
            line_class = catalog.line_class(table.text("codes"), table, "codes")
            forbid = tuple(table.strings("forbid", []))
            require = tuple(table.strings("require", []))
            claim = ClaimFilter.parse(table)
            if not forbid and not require and claim == ClaimFilter():
                raise table.fail("forbid", "a check needs forbid, require or a claim condition")
            window = DateWindow.parse(table.table("effective", None))
            message = table.text("message")
            checks.append(ModifierRule(line_class, forbid, require, window, message, claim))
            table.finish()
        if not checks:
            raise rule.fail("checks", "needs at least one [[checks]] entry")
        return cls(tuple(checks))

    def find(self, lines: Lines, options: RunOptions) -> Hits:
        taken = np.zeros(lines.n, dtype=bool)  # the first failing check speaks for a line
        found, which, modifier = [], [], []
        for index, check in enumerate(self.checks):
            rows = check.lines(lines)
            rows = rows[~taken[rows]]
            for mod, present in check.failures():
                hit = rows if mod is None else rows[lines.has_modifier(mod, rows) == present]
                hit = hit[~taken[hit]]
                taken[hit] = True
                found.append(hit)
                which.append(np.full(len(hit), index))
                modifier.append(np.full(len(hit), mod or "", dtype=object))
        rows, which, modifier = (np.concatenate(x) for x in (found, which, modifier))
        order = np.argsort(rows, kind="stable")
        templates = np.array([c.message for c in self.checks], dtype=object)
        rows = rows[order]
        return Hits(
            rows,
            {"modifier": modifier[order], "place_of_service": lines.place_of_service.text(rows)},
            Related.none(),
            template=templates[which[order]],
        )

    def describe(self) -> list[str]:
        out = []
        for check in self.checks:
            verbs = []
            if check.forbid:
                verbs.append(f"must not carry {', '.join(check.forbid)}")
            if check.require:
                verbs.append(f"must carry {', '.join(check.require)}")
            where = ", ".join(check.claim.describe())
            verb = " and ".join(verbs) or "must not be billed"
            on = f" on lines of {where}" if where else ""
            out.append(f"Codes in {check.line_class.name} {verb}{on} ({check.window.describe()}).")
        return out

    def classes(self) -> list[LineClass]:
        return [c.line_class for c in self.checks]

    def templates(self) -> list[str]:
        return [c.message for c in self.checks]
