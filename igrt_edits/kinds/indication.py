"""Rule kind: a service covered only for listed diagnoses (policy indications)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.catalog import CatalogData, IndicationTable, LineClass
from igrt_edits.grouping import join_per_group
from igrt_edits.kinds.base import Kind, RunOptions, Target
from igrt_edits.lines import Hits, Lines
from igrt_edits.tomlio import Table

OUTCOMES = ("no_indication", "undocumented")


@dataclass(frozen=True)
class Indication(Kind):
    """Flag a target line whose claim's diagnoses do not support it on that patient-day.

    Anti-pattern: IGRT with 3D conformal treatment for a diagnosis outside the policy's
    indications, or for an indication that also needs documentation (a breast treated prone,
    a left breast with breath hold) when the extract carries none.

    The claim's diagnoses are the union over its lines. Parameters: `target`, `when_any` /
    `when_none` (classes that define the qualifying patient-day, as for co_occurrence) and
    `outcome`: `no_indication` flags claims matching no indication; `undocumented` flags claims
    whose only matches need documentation (indications with `requires` tags) that no line of
    the patient-day carries in `treatment_indicators`. Claims from a file without a diagnosis
    column are not checked. The message may use `{diagnoses}` and `{needs}`.
    """

    name = "indication"
    fields = ("diagnoses", "needs")
    target: Target
    when_any: tuple[LineClass, ...]
    when_none: tuple[LineClass, ...]
    outcome: str
    table: IndicationTable

    @classmethod
    def from_params(cls, rule: Table, catalog: CatalogData) -> Indication:
        target = Target.parse(rule, catalog)
        when_any = tuple(
            catalog.line_class(n, rule, "when_any") for n in rule.strings("when_any", [])
        )
        when_none = tuple(
            catalog.line_class(n, rule, "when_none") for n in rule.strings("when_none", [])
        )
        outcome = rule.choice("outcome", OUTCOMES)
        return cls(target, when_any, when_none, outcome, catalog.indications)

    def find(self, lines: Lines, options: RunOptions) -> Hits:
        related = np.zeros(lines.n, dtype=bool)
        for line_class in self.when_any:
            related |= lines.member(line_class)
        flagged = self.target.mask(lines) & lines.any_in_scope("patient_day", related)
        for line_class in self.when_none:
            flagged &= ~lines.any_in_scope("patient_day", lines.member(line_class))
        flagged &= lines.any_in_scope("claim", lines.diagnosis_known)
        rows = np.flatnonzero(flagged)
        if not len(rows):
            return Hits.empty()
        table = self.table.enabled(options.enabled_indications)
        claim_bits, diagnoses = _claim_letters(lines, rows, table)
        bits = claim_bits[lines.claim[rows]]
        if self.outcome == "no_indication":
            keep = bits == 0
            needs = np.full(len(rows), "", dtype=object)
        else:
            satisfied = table.satisfied(bits, _day_tags(lines, rows, table))
            keep = (bits != 0) & ((bits & table.unconditional_mask) == 0) & ~satisfied
            needs = table.describe_needs(bits)
        rows, needs = rows[keep], needs[keep]
        flag_mask = np.zeros(lines.n, dtype=bool)
        flag_mask[rows] = True
        return Hits(
            rows=rows,
            fields={"diagnoses": diagnoses[lines.claim[rows]], "needs": needs},
            related=lines.pairs_in_scope("patient_day", flag_mask, related),
        )

    def describe(self) -> list[str]:
        out = [f"Flags: {self.target.describe()}."]
        if self.when_any:
            out.append("On a patient-day with: " + " or ".join(c.name for c in self.when_any) + ".")
        if self.when_none:
            out.append("And none of: " + ", ".join(c.name for c in self.when_none) + ".")
        if self.outcome == "no_indication":
            out.append("When the claim's diagnoses match no indication.")
        else:
            out.append(
                "When the claim's diagnoses match only indications that need documentation"
                " and no line of the patient-day carries the tags."
            )
        return out

    def classes(self) -> list[LineClass]:
        return [self.target.line_class, *self.when_any, *self.when_none]


def _split(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(parent position, token) pairs of comma-separated strings."""
    lists = pc.split_pattern(pa.array(values, pa.string()), ",")
    parents = np.asarray(pc.list_parent_indices(lists))
    tokens = np.asarray(pc.list_flatten(lists).to_numpy(zero_copy_only=False), dtype=object)
    keep = tokens != ""
    return parents[keep], tokens[keep]


def _claim_letters(lines: Lines, rows: np.ndarray, table: IndicationTable):
    """Per claim key: indication letter bits and a display list of its diagnoses."""
    claims = int(lines.claim.max()) + 1
    in_claims = np.zeros(claims, dtype=bool)
    in_claims[lines.claim[rows]] = True
    carriers = np.flatnonzero(in_claims[lines.claim] & (lines.diagnoses != ""))
    parents, codes = _split(lines.diagnoses[carriers])
    claim_of = lines.claim[carriers][parents]
    distinct, of = np.unique(codes.astype(str), return_inverse=True)
    bits = np.zeros(claims, dtype=np.int64)
    np.bitwise_or.at(bits, claim_of, table.letter_bits(distinct)[of])
    shown = np.array([_dotted(c) for c in distinct], dtype=object)[of]  # per distinct code
    return bits, join_per_group(claim_of, shown, claims)


def _dotted(code: str) -> str:
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


def _day_tags(lines: Lines, rows: np.ndarray, table: IndicationTable) -> np.ndarray:
    """Tag bits of the patient-day of each row in `rows`."""
    days = int(lines.day.max()) + 1
    wanted = np.zeros(days, dtype=bool)
    wanted[lines.day[rows]] = True
    carriers = np.flatnonzero(wanted[lines.day] & (lines.tags != ""))
    bits = np.zeros(days, dtype=np.int64)
    if len(carriers):
        parents, tags = _split(lines.tags[carriers])
        np.bitwise_or.at(bits, lines.day[carriers][parents], table.tag_bits(tags))
    return bits[lines.day[rows]]
