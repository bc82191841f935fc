"""Rule kind: a line is flagged when its scope holds (or lacks) lines of given classes."""

from __future__ import annotations

from dataclasses import dataclass

from igrt_edits.catalog.model import CatalogData, LineClass
from igrt_edits.rules.kinds.base import Kind, RunOptions, Target
from igrt_edits.rules.lines import SCOPES, Hits, Lines
from igrt_edits.util.toml import Table


@dataclass(frozen=True)
class CoOccurrence(Kind):
    """Flag target lines whose patient-day or claim holds lines of some classes and none of others.

    Flags:
        Each target line whose scope holds a line of one of the `when_any` classes (when the
        rule names any) and no line of a `when_none` class. The `when_any` lines of the scope
        are the finding's related lines.

    Parameters:
        target (table): the lines the rule may flag (see Target parameters).
        scope (str): where the other lines are looked for: `patient_day` (every claim and
            file of the patient's service date), `claim`, or `claim_or_patient_day`.
        when_any (list of class names): the scope must hold a line of one of these classes.
        when_none (list of class names): the scope must hold no line of these classes; a
            rule needs `when_any`, `when_none` or both.
        settings (list of str): optional; only lines of these settings (OPPS, MPFS, OTHER).
        effective (table): optional; `from` and/or `through` service dates (YYYY-MM-DD).

    Anti-pattern:
        A code billed with a service that already includes it or rules it out: CT guidance
        77014 on 2024-02-05, the day of SBRT delivery 77373, whose codes include guidance.

    Best practice:
        Bill the SBRT delivery alone on its days; imaging for simulation or planning goes
        with the simulation and planning codes, on their own days.
    """

    name = "co_occurrence"
    target: Target
    scope: str
    when_any: tuple[LineClass, ...]
    when_none: tuple[LineClass, ...]

    @classmethod
    def from_params(cls, rule: Table, catalog: CatalogData) -> CoOccurrence:
        target = Target.parse(rule, catalog)
        scope = rule.choice("scope", SCOPES)
        when_any = tuple(
            catalog.line_class(n, rule, "when_any") for n in rule.strings("when_any", [])
        )
        when_none = tuple(
            catalog.line_class(n, rule, "when_none") for n in rule.strings("when_none", [])
        )
        if not when_any and not when_none:
            raise rule.fail("when_any", "a co_occurrence rule needs when_any or when_none")
        return cls(target, scope, when_any, when_none)

    def find(self, lines: Lines, options: RunOptions) -> Hits:
        rows = self.target.rows(lines)
        if self.when_any:
            rows = rows[lines.has(self.scope, self.when_any, rows)]
        for line_class in self.when_none:
            rows = rows[~lines.has(self.scope, (line_class,), rows)]
        related = lines.classes_mask(self.when_any)
        return Hits(rows=rows, fields={}, related=lines.pairs_in_scope(self.scope, rows, related))

    def describe(self) -> list[str]:
        scope = self.scope.replace("_", "-").replace("-or-", " or ")
        out = [f"Flags: {self.target.describe()}."]
        if self.when_any:
            out.append(f"When the {scope} has: " + " or ".join(c.name for c in self.when_any) + ".")
        if self.when_none:
            out.append(
                f"And the {scope} has none of: " + ", ".join(c.name for c in self.when_none) + "."
            )
        return out

    def classes(self) -> list[LineClass]:
        return [self.target.line_class, *self.when_any, *self.when_none]
