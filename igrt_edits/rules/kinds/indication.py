"""Rule kind: a service covered only for listed diagnoses (policy indications)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from igrt_edits.catalog.model import CatalogData, IndicationTable, LineClass
from igrt_edits.rules.kinds.base import Kind, RunOptions, Target
from igrt_edits.rules.lines import Hits, Lines
from igrt_edits.util.grouping import join_per_group
from igrt_edits.util.toml import Table

OUTCOMES = ("no_indication", "undocumented")


@dataclass(frozen=True)
class Indication(Kind):
    """Flag a target line whose claim's diagnoses do not support it on that patient-day.

    Flags:
        Each target line of a qualifying patient-day (as `when_any` / `when_none` define it)
        whose claim's diagnoses, the union over its lines, match no indication
        (`no_indication`), or match only indications that need documentation (`requires`
        tags) which no line of the patient-day carries in treatment_indicators
        (`undocumented`); a tag with `implied_by` classes in the indication table is also
        carried by a patient-day with a line of one of them. Claims from a file without a
        diagnosis column are not checked.

    Parameters:
        target (table): the lines the rule may flag (see Target parameters).
        outcome (str): `no_indication` or `undocumented`, as above.
        when_any (list of class names): the patient-day must hold a line of one of these.
        when_none (list of class names): the patient-day must hold no line of these.
        settings (list of str): optional; only lines of these settings (OPPS, MPFS, OTHER).
        effective (table): optional; `from` and/or `through` service dates (YYYY-MM-DD).

    Message fields:
        diagnoses: the claim's diagnosis codes, dotted and sorted.
        needs: the documentation tags the matched indications need, e.g. `prone (J)`.

    Anti-pattern:
        IGRT with 3D conformal treatment for a diagnosis outside the policy's indications
        (bone metastases C79.51), or for a breast treated prone with no `prone` tag.

    Best practice:
        Bill IGRT with 3D conformal treatment for listed diagnoses, and carry the
        documentation an indication needs (`prone`, `dibh`, ...) in the extract.
    """

    name = "indication"
    fields = ("diagnoses", "needs")
    needs_diagnoses = True
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
        rows = self.target.rows(lines)
        rows = rows[lines.has("patient_day", self.when_any, rows)]
        for line_class in self.when_none:
            rows = rows[~lines.has("patient_day", (line_class,), rows)]
        known = lines.present("claim", lines.diagnosis_known, "diagnosis_known")
        rows = rows[known[lines.claim[rows]]]
        if not len(rows):
            return Hits.empty()
        table = self.table.enabled(options.enabled_indications)
        bits = _claim_letters(lines, rows, table)[lines.claim[rows]]
        if self.outcome == "no_indication":
            keep = bits == 0
            needs = np.full(len(rows), "", dtype=object)
        else:
            satisfied = table.satisfied(bits, _day_tags(lines, rows, table))
            keep = (bits != 0) & ((bits & table.unconditional_mask) == 0) & ~satisfied
            needs = table.describe_needs(bits)
        rows, needs = rows[keep], needs[keep]
        related = lines.classes_mask(self.when_any)
        return Hits(
            rows=rows,
            fields={"diagnoses": _claim_diagnoses(lines, rows), "needs": needs},
            related=lines.pairs_in_scope("patient_day", rows, related),
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
        implied = [c for classes in self.table.implied.values() for c in classes]
        return [self.target.line_class, *self.when_any, *self.when_none, *implied]


def _codes(value: str) -> list[str]:
    return [c for c in value.split(",") if c]


def _claim_letters(lines: Lines, rows: np.ndarray, table: IndicationTable) -> np.ndarray:
    """Indication letter bits per claim key, for the claims of `rows`.

    Letters are found once per distinct diagnosis value and OR-ed into the claims of the lines
    carrying that value.
    """
    claims = int(lines.claim.max()) + 1
    factor = lines.diagnoses
    value_codes = [_codes(v) for v in factor.values]
    distinct = np.array(sorted({c for codes in value_codes for c in codes}), dtype=str)
    code_bits = dict(zip(distinct, table.letter_bits(distinct), strict=True))
    value_bits = np.array([_or(code_bits[c] for c in codes) for codes in value_codes], np.int64)
    carriers = _carriers(lines.claim, rows, claims) & (factor.ids >= 0)
    width = len(factor.values) + 1
    # A claim's lines usually repeat one diagnosis value: OR each distinct pair once.
    pairs = pd.unique(lines.claim[carriers] * width + factor.ids[carriers])
    bits = np.zeros(claims, dtype=np.int64)
    np.bitwise_or.at(bits, pairs // width, value_bits[pairs % width])
    return bits


def _carriers(key: np.ndarray, rows: np.ndarray, size: int) -> np.ndarray:
    """Lines whose key is the key of one of `rows`."""
    wanted = np.zeros(size, dtype=bool)
    wanted[key[rows]] = True
    return wanted[key]


def _claim_diagnoses(lines: Lines, rows: np.ndarray) -> np.ndarray:
    """For each of `rows`, its claim's diagnoses as text (distinct, dotted, sorted)."""
    claims = int(lines.claim.max()) + 1 if lines.n else 0
    factor = lines.diagnoses
    carriers = np.flatnonzero(_carriers(lines.claim, rows, claims) & (factor.ids >= 0))
    value_codes = [[_dotted(c) for c in _codes(v)] for v in factor.values]
    counts = np.array([len(c) for c in value_codes], dtype=np.int64)
    flat = np.array([c for codes in value_codes for c in codes], dtype=object)
    starts = np.concatenate([[0], np.cumsum(counts)])[:-1]
    values = factor.ids[carriers]
    repeat = counts[values]
    offsets = np.repeat(starts[values] - np.cumsum(repeat) + repeat, repeat)
    codes = flat[offsets + np.arange(int(repeat.sum()))] if len(flat) else flat
    return join_per_group(np.repeat(lines.claim[carriers], repeat), codes, lines.claim[rows])


def _or(values) -> int:
    out = 0
    for value in values:
        out |= int(value)
    return out


def _dotted(code: str) -> str:
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


def _day_tags(lines: Lines, rows: np.ndarray, table: IndicationTable) -> np.ndarray:
    """Tag bits of the patient-day of each row in `rows`."""
    days = int(lines.day.max()) + 1
    wanted = np.zeros(days, dtype=bool)
    wanted[lines.day[rows]] = True
    factor = lines.tags
    value_bits = np.array(
        [_or(table.tag_bits(np.array(_codes(v), dtype=str))) for v in factor.values], np.int64
    )
    carriers = np.flatnonzero(wanted[lines.day] & (factor.ids >= 0))
    bits = np.zeros(days, dtype=np.int64)
    np.bitwise_or.at(bits, lines.day[carriers], value_bits[factor.ids[carriers]])
    bits = bits[lines.day[rows]]
    position = {t: i for i, t in enumerate(table.tags)}
    for tag, classes in table.implied.items():
        if tag in position and classes:
            bits |= np.where(lines.has("patient_day", classes, rows), 1 << position[tag], 0)
    return bits
