"""Rule kind: units of a code summed over a patient-day exceed a limit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from igrt_edits.catalog.model import CatalogData, LineClass
from igrt_edits.rules.kinds.base import Kind, RunOptions, Target
from igrt_edits.rules.lines import Hits, Lines
from igrt_edits.util.grouping import compact_ids
from igrt_edits.util.toml import Table


@dataclass(frozen=True)
class UnitsSum(Kind):
    """Flag every line of a code whose units per patient-day and component exceed a limit.

    Flags:
        Each target line whose code's units, summed over the patient-day (all claims and
        files) within its component class, exceed `max_units`. The professional component
        (modifier 26) and the technical or global billing are summed apart, because one of
        each is the normal split of one service. The lines summed with it are related.

    Parameters:
        target (table): the lines the rule may flag and sums (see Target parameters).
        max_units (number): optional, default 1; the most units allowed per day and class.
        settings (list of str): optional; only lines of these settings (OPPS, MPFS, OTHER).
        effective (table): optional; `from` and/or `through` service dates (YYYY-MM-DD).

    Message fields:
        units_total: the units summed for the line's code, day and component class.

    Anti-pattern:
        A once-per-day service billed with 2 units, or on two lines of one day: 77387 with
        units 2 on 2019-05-01.

    Best practice:
        One unit per day: 77387 units 1 (and, split, 77387-26 units 1 on the physician claim).
    """

    name = "units_sum"
    fields = ("units_total",)
    target: Target
    max_units: float

    @classmethod
    def from_params(cls, rule: Table, catalog: CatalogData) -> UnitsSum:
        limit = rule.get("max_units", (int, float), 1)
        if limit < 0:
            raise rule.fail("max_units", "must not be negative")
        return cls(Target.parse(rule, catalog), float(limit))

    def find(self, lines: Lines, options: RunOptions) -> Hits:
        rows = self.target.rows(lines)
        if not len(rows):
            return Hits.empty()
        day, _ = compact_ids(lines.day[rows])
        code, codes = compact_ids(lines.code.ids[rows] + 1)
        professional = lines.component.isin({"PC"})[rows]
        group = (day * codes + code) * 2 + professional
        totals = np.bincount(group, weights=lines.units[rows])
        over = totals[group] > self.max_units
        flagged, group = rows[over], group[over]
        text = np.char.mod("%g", totals[group]).astype(object)
        key = np.zeros(lines.n, dtype=np.int64)  # 0: not flagged; group + 1 otherwise
        key[flagged] = group + 1
        related = lines.pairs_by_key(key, flagged, key > 0)
        return Hits(rows=flagged, fields={"units_total": text}, related=related)

    def describe(self) -> list[str]:
        return [
            f"Flags: {self.target.describe()}.",
            f"When the units of one code, summed over the patient-day and component class"
            f" (professional vs technical/global), exceed {self.max_units:g}.",
        ]

    def classes(self) -> list[LineClass]:
        return [self.target.line_class]
