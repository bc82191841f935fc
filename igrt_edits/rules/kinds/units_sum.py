"""Rule kind: units of a code summed over a patient-day exceed a limit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from igrt_edits.catalog.model import CatalogData, LineClass
from igrt_edits.rules.kinds.base import Kind, RunOptions, Target
from igrt_edits.rules.lines import Hits, Lines
from igrt_edits.util.grouping import compact_ids
from igrt_edits.util.toml import Table

COUNT_BY = ("component", "billing_side")


@dataclass(frozen=True)
class UnitsSum(Kind):
    """Flag every line of a code whose units per patient-day and part billed exceed a limit.

    Flags:
        Each target line whose code's units, summed over the patient-day (all claims and
        files) within its part, exceed `max_units`. The parts of one service are summed
        apart, because one of each is the normal split of one service. `count_by` says what
        a part is: `component` sums the professional component (modifier 26) apart from the
        technical and global billing; `billing_side` sums each billing side (edit-catalog.md,
        "Billing sides"): professional (26 lines, and global lines of non-institutional
        claims) and technical (TC and global lines), a global line of a professional claim
        counting on both, so it and a 26 line of the same code bill the professional part
        twice, while a hospital line and the physician's 26 line are one of each. The lines
        summed with it are related.

    Parameters:
        target (table): the lines the rule may flag and sums (see Target parameters).
        max_units (number): optional, default 1; the most units allowed per day and part.
        count_by (str): optional, default `component`; `component` or `billing_side`.
        settings (list of str): optional; only lines of these settings (OPPS, MPFS, OTHER).
        effective (table): optional; `from` and/or `through` service dates (YYYY-MM-DD).

    Message fields:
        units_total: the largest units total over the line's parts.
        part: the part or parts over the limit.

    Anti-pattern:
        A once-per-day service billed with 2 units, or on two lines of one day: 77387 with
        units 2 on 2019-05-01.

    Best practice:
        One unit per day: 77387 units 1 (and, split, 77387-26 units 1 on the physician claim).
    """

    name = "units_sum"
    fields = ("units_total", "part")
    target: Target
    max_units: float
    count_by: str = "component"

    @classmethod
    def from_params(cls, rule: Table, catalog: CatalogData) -> UnitsSum:
        limit = rule.get("max_units", (int, float), 1)
        if limit < 0:
            raise rule.fail("max_units", "must not be negative")
        count_by = rule.choice("count_by", COUNT_BY, "component")
        return cls(Target.parse(rule, catalog), float(limit), count_by)

    def _parts(self, lines: Lines, rows: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """(name, which of `rows` are in it) for each part units are summed over."""
        if self.count_by == "billing_side":
            return [
                ("professional", lines.professional_side[rows]),
                ("technical", lines.technical_side[rows]),
            ]
        professional = lines.component.isin({"PC"})[rows]
        return [("professional", professional), ("technical/global", ~professional)]

    def find(self, lines: Lines, options: RunOptions) -> Hits:
        rows = self.target.rows(lines)
        if not len(rows):
            return Hits.empty()
        day, _ = compact_ids(lines.day[rows])
        code, codes = compact_ids(lines.code.ids[rows] + 1)
        day_code = day * codes + code
        units = lines.units[rows]
        worst = np.zeros(len(rows))
        over_parts = np.zeros(len(rows), dtype=np.int32)  # bit i: over in part i
        parts = self._parts(lines, rows)
        for bit, (_, inside) in enumerate(parts):
            totals = np.bincount(day_code[inside], weights=units[inside], minlength=1)
            total = np.where(inside, totals[np.minimum(day_code, len(totals) - 1)], 0.0)
            over = inside & (total > self.max_units)
            worst = np.where(over, np.maximum(worst, total), worst)
            over_parts |= over.astype(np.int32) << bit
        hit = over_parts != 0
        flagged = rows[hit]
        # each set of parts named once ("professional and technical"), each total printed once
        names = [
            " and ".join(name for bit, (name, _) in enumerate(parts) if which >> bit & 1)
            for which in range(1 << len(parts))
        ]
        part = pa.DictionaryArray.from_arrays(pa.array(over_parts[hit]), pa.array(names))
        totals, inverse = np.unique(worst[hit], return_inverse=True)
        text = pa.DictionaryArray.from_arrays(
            pa.array(inverse.reshape(-1).astype(np.int32)),
            pa.array([f"{v:g}" for v in totals.tolist()], pa.string()),
        )
        # Related: the other flagged lines of the same code and patient-day.
        key = np.zeros(lines.n, dtype=np.int64)  # 0: not flagged; (day, code) + 1 otherwise
        key[flagged] = day_code[hit] + 1
        related = lines.pairs_by_key(key, flagged, key > 0)
        return Hits(
            rows=flagged,
            fields={"units_total": text, "part": part},
            related=related,
        )

    def describe(self) -> list[str]:
        parts = (
            "billing side (professional: 26 lines and global lines of non-institutional"
            " claims; technical: TC and global lines)"
            if self.count_by == "billing_side"
            else "component class (professional vs technical/global)"
        )
        return [
            f"Flags: {self.target.describe()}.",
            f"When the units of one code, summed over the patient-day and {parts}, exceed"
            f" {self.max_units:g}.",
        ]

    def classes(self) -> list[LineClass]:
        return [self.target.line_class]
