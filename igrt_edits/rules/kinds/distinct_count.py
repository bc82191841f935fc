"""Rule kind: too many distinct codes of a class in one patient-day."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from igrt_edits.catalog.model import CatalogData, LineClass
from igrt_edits.rules.kinds.base import Kind, RunOptions, Target
from igrt_edits.rules.lines import Hits, Lines
from igrt_edits.util.grouping import compact_ids, join_per_group
from igrt_edits.util.toml import Table


@dataclass(frozen=True)
class DistinctCount(Kind):
    """Flag every target line of a patient-day that holds too many distinct codes of a class.

    Flags:
        Each target line of a patient-day whose target lines carry `min_distinct` or more
        distinct procedure codes. Lines of one code with different modifiers (professional
        and technical) count as one code. The day's other target lines are related.

    Parameters:
        target (table): the lines the rule may flag and counts (see Target parameters).
        min_distinct (int): optional, default 2; how many distinct codes make the day flagged.
        settings (list of str): optional; only lines of these settings (OPPS, MPFS, OTHER).
        effective (table): optional; `from` and/or `through` service dates (YYYY-MM-DD).

    Message fields:
        distinct_codes: the distinct codes of the patient-day's target lines.

    Anti-pattern:
        Two image-guidance methods on one treatment day: 77014 (CT) and G6002 (stereoscopic
        x-ray) for one patient on 2020-03-02.

    Best practice:
        Bill the one guidance method used that day.
    """

    name = "distinct_count"
    fields = ("distinct_codes",)
    target: Target
    min_distinct: int

    @classmethod
    def from_params(cls, rule: Table, catalog: CatalogData) -> DistinctCount:
        minimum = rule.get("min_distinct", int, 2)
        if minimum < 2:
            raise rule.fail("min_distinct", "must be 2 or more")
        return cls(Target.parse(rule, catalog), minimum)

    def find(self, lines: Lines, options: RunOptions) -> Hits:
        rows = self.target.rows(lines)
        if not len(rows):
            return Hits.empty()
        day, days = compact_ids(lines.day[rows])
        code, codes = compact_ids(lines.code.ids[rows] + 1)
        present = np.zeros(days * codes, dtype=bool)  # (day, code) pairs that occur
        present[day * codes + code] = True
        counts = present.reshape(days, codes).sum(axis=1)
        flagged = rows[counts[day] >= self.min_distinct]
        flag_mask = np.zeros(lines.n, dtype=bool)
        flag_mask[flagged] = True
        keys = lines.day[flagged]
        return Hits(
            rows=flagged,
            fields={"distinct_codes": join_per_group(keys, lines.code.text(flagged), keys)},
            related=lines.pairs_in_scope("patient_day", flagged, flag_mask),
        )

    def describe(self) -> list[str]:
        return [
            f"Flags: {self.target.describe()}.",
            f"When the patient-day holds {self.min_distinct} or more distinct such codes.",
        ]

    def classes(self) -> list[LineClass]:
        return [self.target.line_class]
