"""Rule kind: a line is flagged when its scope holds (or lacks) lines of given classes."""

from __future__ import annotations

from dataclasses import dataclass

from igrt_edits.catalog.model import CatalogData, LineClass
from igrt_edits.rules.kinds.base import Kind, RunOptions, Target
from igrt_edits.rules.lines import SCOPES, Hits, Lines
from igrt_edits.util.toml import Table


@dataclass(frozen=True)
class CoOccurrence(Kind):
    """Flag target lines whose scope holds a line of one class and none of others.

    Anti-pattern: a code billed together with a service that already includes it or rules it
    out, e.g. image guidance on the day of SBRT, whose codes include image guidance.

    Parameters: `target` (the lines to flag), `scope` (`patient_day`, `claim` or
    `claim_or_patient_day`), `when_any` (classes of which the scope must hold at least one
    line; those lines are reported as related) and `when_none` (classes the scope must not
    hold). A rule needs at least one of `when_any` and `when_none`.
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
