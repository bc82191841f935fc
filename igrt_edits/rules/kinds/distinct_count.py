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
        and technical) count as one code. The day's other target lines are related. With
        `matches_any`, codes are counted per billing side (edit-catalog.md, "Billing sides"):
        every line on a side that holds `min_distinct` or more codes is flagged, and so is
        every line whose code is not in `matches_any` when the day's such codes, over both
        sides, reach `min_distinct`. So a `matches_any` code on one side matches whatever one
        code the other side bills, and two codes on one side are still two.

    Parameters:
        target (table): the lines the rule may flag and counts (see Target parameters).
        min_distinct (int): optional, default 2; how many distinct codes make the day flagged.
        matches_any (class name): optional; a code set whose codes name no particular member
            of the class (77387 is the hospital's code for whatever guidance method was used);
            with it the count is per billing side, as above.
        settings (list of str): optional; only lines of these settings (OPPS, MPFS, OTHER).
        effective (table): optional; `from` and/or `through` service dates (YYYY-MM-DD).

    Message fields:
        distinct_codes: the distinct codes of the patient-day's flagged lines.

    Anti-pattern:
        Two image-guidance methods on one treatment day: 77014 (CT) and G6002 (stereoscopic
        x-ray) on the physician's claim for one patient on 2020-03-02.

    Best practice:
        Bill the one guidance method used that day; the hospital's 77387 beside the
        physician's 77014-26 for the same session is one method.
    """

    name = "distinct_count"
    fields = ("distinct_codes",)
    target: Target
    min_distinct: int
    matches_any: LineClass | None = None

    @classmethod
    def from_params(cls, rule: Table, catalog: CatalogData) -> DistinctCount:
        minimum = rule.get("min_distinct", int, 2)
        if minimum < 2:
            raise rule.fail("min_distinct", "must be 2 or more")
        name = rule.get("matches_any", str, None)
        matches_any = catalog.line_class(name, rule, "matches_any") if name else None
        return cls(Target.parse(rule, catalog), minimum, matches_any)

    def find(self, lines: Lines, options: RunOptions) -> Hits:
        rows = self.target.rows(lines)
        if not len(rows):
            return Hits.empty()
        day, days = compact_ids(lines.day[rows])
        code, codes = compact_ids(lines.code.ids[rows] + 1)
        pair = day * codes + code

        def crowded(among: np.ndarray) -> np.ndarray:
            """Per row: does its day hold min_distinct or more codes among the `among` rows?"""
            present = np.zeros(days * codes, dtype=bool)  # (day, code) pairs that occur
            present[pair[among]] = True
            return present.reshape(days, codes).sum(axis=1)[day] >= self.min_distinct

        if self.matches_any is None:
            hit = crowded(np.ones(len(rows), dtype=bool))
        else:
            hit = np.zeros(len(rows), dtype=bool)
            for side in (lines.professional_side[rows], lines.technical_side[rows]):
                hit |= side & crowded(side)
            specific = ~lines.member(self.matches_any)[rows]
            hit |= specific & crowded(specific)
        flagged = rows[hit]
        flag_mask = np.zeros(lines.n, dtype=bool)
        flag_mask[flagged] = True
        keys = lines.day[flagged]
        return Hits(
            rows=flagged,
            fields={"distinct_codes": join_per_group(keys, lines.code.text(flagged), keys)},
            related=lines.pairs_in_scope("patient_day", flagged, flag_mask),
        )

    def describe(self) -> list[str]:
        out = [f"Flags: {self.target.describe()}."]
        if self.matches_any is None:
            out.append(
                f"When the patient-day holds {self.min_distinct} or more distinct such codes."
            )
            return out
        anything = ", ".join(sorted(self.matches_any.codes))
        out += [
            f"When one billing side of the patient-day (professional: modifier 26 and global"
            f" lines of non-institutional claims; technical: TC and global lines) holds"
            f" {self.min_distinct} or more distinct such codes: that side's lines.",
            f"Or when the day holds {self.min_distinct} or more distinct such codes other than"
            f" {anything} over both sides: those lines ({anything} names no method of its own"
            f" and matches the one the other side bills).",
        ]
        return out

    def classes(self) -> list[LineClass]:
        extra = [self.matches_any] if self.matches_any is not None else []
        return [self.target.line_class, *extra]
