"""Rule kind: units of a code summed over a patient-day exceed a limit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from igrt_edits.catalog import CatalogData, LineClass
from igrt_edits.kinds.base import Kind, RunOptions, Target
from igrt_edits.lines import Hits, Lines
from igrt_edits.tomlio import Table


@dataclass(frozen=True)
class UnitsSum(Kind):
    """Flag every line of a code whose units per patient-day and component class exceed a limit.

    Anti-pattern: a once-per-day service billed with 2 units, or on two lines of one day.
    The professional component (modifier 26) and the technical or global billing of a code are
    summed separately, because one of each is the normal split of a single service.

    Parameters: `target`, `max_units` (default 1). The message may use `{units_total}`.
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
        mask = self.target.mask(lines)
        if not mask.any():
            return Hits.empty()
        rows = np.flatnonzero(mask)
        professional = lines.component.isin({"PC"})[rows]
        codes = len(lines.code.values) + 1
        key = (lines.day[rows] * codes + lines.code.ids[rows] + 1) * 2 + professional
        group = pd.factorize(key)[0]
        totals = np.bincount(group, weights=lines.units[rows])
        over = totals[group] > self.max_units
        flagged = rows[over]
        group_of = np.full(lines.n, -1, dtype=np.int64)
        group_of[rows] = group
        related = _same_group(group_of, flagged)
        total_text = np.char.mod("%g", totals[group[over]]).astype(object)
        return Hits(rows=flagged, fields={"units_total": total_text}, related=related)

    def describe(self) -> list[str]:
        return [
            f"Flags: {self.target.describe()}.",
            f"When the units of one code, summed over the patient-day and component class"
            f" (professional vs technical/global), exceed {self.max_units:g}.",
        ]

    def classes(self) -> list[LineClass]:
        return [self.target.line_class]


def _same_group(group_of: np.ndarray, flagged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    members = np.flatnonzero(group_of >= 0)
    left = pd.DataFrame({"g": group_of[flagged], "f": flagged})
    right = pd.DataFrame({"g": group_of[members], "r": members})
    pairs = left.merge(right, on="g")
    pairs = pairs[pairs["f"] != pairs["r"]]
    return pairs["f"].to_numpy(), pairs["r"].to_numpy()
