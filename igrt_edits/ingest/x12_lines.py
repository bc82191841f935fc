"""837 segments flattened into the data contract's claim lines, by vector operations.

Every segment is placed in its loop by where the last HL, CLM, LX and SBR before it are (no
loop objects are built): a segment after an HL and before that HL's first CLM belongs to the
HL's loop header (2010AA billing provider, 2010BA subscriber, 2010BB payer, 2010CA patient);
one after a CLM and before its first LX to the claim (2300, 2310; after an SBR, 2320/2330 other
payers, which are not read); one after an LX to that service line (2400, 2420). Values are
picked per loop with `np.unique` over these positions and gathered to the lines.

A claim whose structure or required values are broken is not guessed at: each of its lines
(or one row for a claim without lines) carries a problem naming the segment, which the
normalizer turns into a reject.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.errors import InputError
from igrt_edits.ingest.x12 import (
    BLOCK_BYTES,
    INSTITUTIONAL,
    KIND,
    OTHER_837,
    PROFESSIONAL,
    Fields,
    SegmentReader,
    Segments,
    Window,
    windows,
)

LEVELS = ("20", "22", "23")

COLUMNS = (
    "claim_id",
    "line_number",
    "patient_id",
    "service_date",
    "procedure_code",
    "modifiers.0",
    "modifiers.1",
    "modifiers.2",
    "modifiers.3",
    "units",
    "diagnosis_codes.0",
    "claim_type",
    "place_of_service",
    "bill_type",
    "payer",
    "line_of_business",
    "patient_birth_date",
    "provider_id",
    "charge_amount",
)
"""The columns an 837 fills, named as the normalizer reads them."""
DIAGNOSIS_QUALIFIERS = ("ABK", "ABF", "BK", "BF")
"""HI qualifiers read as diagnoses: ICD-10-CM principal and other, ICD-9-CM principal and other."""
FILING_CODES = {
    "MA": "medicare",
    "MB": "medicare",
    "16": "medicare_advantage",
    "MC": "medicaid",
    "CI": "commercial",
    "BL": "commercial",
    "HM": "commercial",
    "12": "commercial",
    "13": "commercial",
    "14": "commercial",
    "15": "commercial",
}
"""SBR09 claim filing indicator codes -> line_of_business (other codes leave it unknown)."""
OTHER_SEPARATORS = ">:^|\\!"
LINE_LEVEL_ONLY_OUTSIDE = ("HI", "SBR", "DMG")
"""Claim or subscriber segments that must not follow a claim's first LX."""
TEXT = pa.large_string()


@dataclass
class Flat:
    """The claim lines of one window, with where each sits and why it is rejected, if it is."""

    table: pa.Table
    segment: np.ndarray
    """Segment number of each row's service segment (SV1/SV2, else LX, else CLM)."""
    line: np.ndarray
    column: np.ndarray
    problem_column: pa.Array
    problem_reason: pa.Array


class Loops:
    """Where each segment of a window sits: its transaction, HL loop, claim and service line."""

    def __init__(self, segments: Segments) -> None:
        kind = segments.kind
        self.n = n = len(kind)
        self.kind = kind
        self.pos = np.arange(n, dtype=np.int64)
        self.last_st = self.last(kind == KIND["ST"])
        txn = np.where(self.last_st >= 0, segments.txn[np.maximum(self.last_st, 0)], 0)
        self.txn = txn
        self.in837 = np.isin(txn, (PROFESSIONAL, INSTITUTIONAL, OTHER_837))
        self.last_hl = self.last(kind == KIND["HL"])
        self.last_clm = self.last(kind == KIND["CLM"])
        self.last_lx = self.last(kind == KIND["LX"])
        self.last_sbr = self.last(kind == KIND["SBR"])
        in_hl = (self.last_hl > self.last_st) & self.in837
        self.claim_of = np.where(
            (self.last_clm > self.last_hl) & (self.last_clm > self.last_st) & self.in837,
            self.last_clm,
            -1,
        )
        self.line_of = np.where(
            (self.claim_of >= 0) & (self.last_lx > self.last_clm), self.last_lx, -1
        )
        self.header_hl = np.where(in_hl & (self.last_clm < self.last_hl), self.last_hl, -1)
        self.claim_header = (self.claim_of >= 0) & (self.line_of < 0)
        self.before_2320 = self.claim_header & (self.last_sbr < self.last_clm)

    def last(self, mask: np.ndarray) -> np.ndarray:
        """Position of the last segment under `mask` at or before each segment (-1: none)."""
        if not self.n:
            return np.zeros(0, np.int64)
        return np.maximum.accumulate(np.where(mask, self.pos, -1))

    def of(self, name: str) -> np.ndarray:
        return np.flatnonzero((self.kind == KIND[name]) & self.in837)


def first_per(keys: np.ndarray, n: int) -> np.ndarray:
    """For each key 0..n-1, the index of its first occurrence in `keys` (-1: none)."""
    at = np.full(n, -1, np.int64)
    valid = keys >= 0
    unique, first = np.unique(keys[valid], return_index=True)
    at[unique] = np.flatnonzero(valid)[first]
    return at


def pick(values: pa.Array, index: np.ndarray) -> pa.Array:
    """values[index] with null where index is -1."""
    found = index >= 0
    if not found.any():
        return pa.nulls(len(index), values.type)
    return values.take(pa.array(np.where(found, index, 0), pa.int64(), mask=~found))


def gather(index: np.ndarray, at: np.ndarray) -> np.ndarray:
    """at[index] with -1 where index is -1."""
    return (
        np.where(index >= 0, at[np.maximum(index, 0)], -1) if len(at) else np.full(len(index), -1)
    )


def is_in(values: pa.Array, choices) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.is_in(values, pa.array(list(choices), TEXT)), False))


def equals(values: pa.Array, text: str) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.equal(values, text), False))


def valid(values: pa.Array) -> np.ndarray:
    return np.asarray(values.is_valid())


class Problems:
    """The problems found for each of a set of items (claims or rows): the element of the
    first, and every reason (joined with '; ')."""

    def __init__(self, count: int) -> None:
        self.column = np.full(count, None, dtype=object)
        self.reason = np.full(count, None, dtype=object)
        self.found = np.zeros(count, dtype=bool)

    def flag(self, mask: np.ndarray, column: str, reason: Callable[[int], str]) -> None:
        """Items under `mask` get this problem (its reason made per item)."""
        for i in np.flatnonzero(mask):
            self.add(int(i), column, reason(int(i)))

    def add(self, i: int, column, reason: str) -> None:
        if not self.found[i]:
            self.column[i], self.reason[i], self.found[i] = column, reason, True
        elif reason not in self.reason[i]:
            self.reason[i] = f"{self.reason[i]}; {reason}"


def separator_hint(value: str | None, component: str) -> str:
    """Why a composite without the declared component separator may look that way."""
    others = [s for s in OTHER_SEPARATORS if s != component and value and s in value]
    if not others:
        return ""
    return (
        f" (it has no {component!r}, the component separator ISA16 declares;"
        f" {others[0]!r} seems to be used instead)"
    )


def flatten(window: Window) -> Flat:
    """The claim lines of the claims whose CLM is among the window's new segments."""
    return _Flattener(window).run()


class _Flattener:
    def __init__(self, window: Window) -> None:
        self.seg = window.segments
        self.seps = window.separators
        self.first_new = window.first_new
        self.loops = Loops(self.seg)

    def where(self, index: int) -> str:
        return self.seg.where(index)

    def segment_id(self, index: int) -> str:
        return self.seg.string(index).split(self.seps.element, 1)[0]

    def fields(self, rows: np.ndarray, upto: int = 0) -> Fields:
        """The elements of the given segments (`upto` documents the last one read)."""
        return Fields(self.seg, rows, self.seps.element)

    # --- hierarchy ---------------------------------------------------------------------------

    def hierarchy(self) -> None:
        loops = self.loops
        hl = loops.of("HL")
        fields = self.fields(hl, 3)
        ids, parents, levels = (pc.fill_null(fields[k], "") for k in (1, 2, 3))
        known = np.asarray(pc.fill_null(pc.index_in(levels, pa.array(LEVELS, TEXT)), -1))
        level = np.zeros(loops.n, np.int64)
        level[hl] = np.where(known >= 0, np.array([20, 22, 23])[np.maximum(known, 0)], -1)
        self.level = level
        dictionary = pc.unique(ids)
        id_code = np.full(loops.n, -1, np.int64)
        id_code[hl] = np.asarray(pc.index_in(ids, value_set=dictionary))
        parent_code = np.full(loops.n, -2, np.int64)
        parent_code[hl] = np.asarray(pc.fill_null(pc.index_in(parents, value_set=dictionary), -3))
        self.last20 = loops.last(level == 20)
        self.last22 = loops.last(level == 22)
        expected = np.where(level == 22, self.last20, np.where(level == 23, self.last22, -1))
        matches = (expected > loops.last_st) & (id_code[np.maximum(expected, 0)] == parent_code)
        self.hl_reason: dict[int, str] = {}
        broken = np.isin(level[hl], (22, 23)) & ~matches[hl]
        for i in np.flatnonzero(broken):
            index = int(hl[i])
            wanted = "billing provider (20)" if level[index] == 22 else "subscriber (22)"
            self.hl_reason[index] = (
                f"HL at {self.where(index)} names parent HL {parents[i].as_py()!r}, which is"
                f" not the {wanted} HL before it"
            )
        for i in np.flatnonzero(level[hl] == -1):
            index = int(hl[i])
            self.hl_reason[index] = (
                f"HL at {self.where(index)} has level {levels[i].as_py()!r} (HL03); an 837"
                " has 20 (billing provider), 22 (subscriber) and 23 (patient)"
            )
        self.bad_hl = np.zeros(loops.n, dtype=bool)
        self.bad_hl[list(self.hl_reason)] = True

    def header_values(self, name: str, entity: str | None, level: int, upto: int):
        """Per HL position: index of the first `name` segment (NM1 of `entity`) in the HL's
        loop header, and that segment's elements."""
        loops = self.loops
        rows = loops.of(name)
        rows = rows[loops.header_hl[rows] >= 0]
        rows = rows[self.level[loops.header_hl[rows]] == level]
        fields = self.fields(rows, upto)
        if entity is not None:
            keep = equals(fields[1], entity)
            rows = rows[keep]
            fields = fields.subset(keep)
        return first_per(loops.header_hl[rows], loops.n), fields

    # --- the run -----------------------------------------------------------------------------

    def run(self) -> Flat:
        loops = self.loops
        self.hierarchy()
        clm = loops.of("CLM")
        clm = clm[clm >= self.first_new]
        self.clm = clm
        self.claim_index = np.full(loops.n, -1, np.int64)
        self.claim_index[clm] = np.arange(len(clm))
        self.problems = Problems(len(clm))
        claims = self.claims()
        rows = self.rows()
        return self.assemble(claims, rows)

    def claims(self) -> dict[str, pa.Array]:
        loops, clm, problems = self.loops, self.clm, self.problems
        seps = self.seps
        fields = self.fields(clm, 5)
        claim_id, clm05 = fields[1], fields[5]
        facility, _, frequency = fields.components(5, seps.component, 2)
        txn = loops.txn[clm]
        hl = loops.last_hl[clm]
        in_hl = hl > loops.last_st[clm]
        level = np.where(in_hl, self.level[np.maximum(hl, 0)], 0)
        sub = np.where(level == 22, hl, np.where(level == 23, self.last22[np.maximum(hl, 0)], -1))
        patient = np.where(level == 23, hl, -1)
        billing = gather(sub, self.last20)
        self.sub, self.patient, self.billing = sub, patient, billing

        problems.flag(
            txn == OTHER_837,
            "ST03",
            lambda i: (
                f"the claim at {self.where(clm[i])} is in an 837 transaction that is"
                " neither 837P (005010X222) nor 837I (005010X223)"
            ),
        )
        problems.flag(
            ~np.isin(level, (22, 23)),
            "HL",
            lambda i: (
                f"CLM at {self.where(clm[i])} is not under a subscriber (HL 22) or"
                " patient (HL 23) loop"
            ),
        )
        for at in (patient, sub):
            bad = (at >= 0) & self.bad_hl[np.maximum(at, 0)]
            problems.flag(bad, "HL02", lambda i, at=at: self.hl_reason[int(at[i])])
        self.flag_bad_segments()
        problems.flag(
            ~valid(claim_id),
            "CLM01",
            lambda i: f"CLM at {self.where(clm[i])} has no claim id (CLM01)",
        )
        clm05_text = clm05.to_pylist()
        no_component = valid(clm05) & ~np.asarray(
            pc.fill_null(pc.match_substring(clm05, seps.component), False)
        )
        problems.flag(
            no_component,
            "CLM05",
            lambda i: (
                f"CLM05 {clm05_text[i]!r} at {self.where(clm[i])} is not facility"
                f"{seps.component}qualifier{seps.component}frequency"
                + separator_hint(clm05_text[i], seps.component)
            ),
        )
        problems.flag(
            ~no_component & ~valid(facility),
            "CLM05",
            lambda i: (
                f"CLM at {self.where(clm[i])} has no place of service or facility code (CLM05-1)"
            ),
        )
        problems.flag(
            (txn == INSTITUTIONAL) & ~no_component & valid(facility) & ~valid(frequency),
            "CLM05",
            lambda i: f"CLM at {self.where(clm[i])} has no claim frequency code (CLM05-3)",
        )

        members, member_fields = self.header_values("NM1", "IL", 22, 9)
        member_at = gather(sub, members)
        problems.flag(
            (sub >= 0) & (member_at < 0),
            "NM1*IL",
            lambda i: (
                f"the subscriber loop of the HL at {self.where(sub[i])} has no subscriber NM1*IL"
                " segment"
            ),
        )
        member_id = pick(member_fields[9], member_at)
        problems.flag(
            (member_at >= 0) & ~valid(member_id),
            "NM109",
            lambda i: (
                f"the subscriber NM1*IL of the HL at {self.where(sub[i])} has no member id (NM109)"
            ),
        )
        patient_id = self.patient_ids(member_id, patient)
        diagnoses = self.diagnoses()
        self.flag_loop_order()

        payers, payer_fields = self.header_values("NM1", "PR", 22, 3)
        subscribers, sbr_fields = self.header_values("SBR", None, 22, 9)
        births = self.birth_dates()
        billers, biller_fields = self.header_values("NM1", "85", 20, 9)
        birth = pc.coalesce(
            pick(births[1], gather(patient, births[0])),
            pc.if_else(
                pa.array(patient >= 0),
                pa.scalar(None, TEXT),
                pick(births[1], gather(sub, births[0])),
            ),
        )
        filing = pick(sbr_fields[9], gather(sub, subscribers))
        business = pa.array(list(FILING_CODES.values()), TEXT).take(
            pc.index_in(filing, pa.array(list(FILING_CODES), TEXT))
        )
        rendering, rendering_fields = self.rendering(self.loops.before_2320, self.loops.claim_of)
        claim_rendering = pick(rendering_fields[9], gather(clm, rendering))
        kind = np.where(
            txn == PROFESSIONAL,
            "professional",
            np.where(txn == INSTITUTIONAL, "institutional", None),
        )
        bill_type = pc.if_else(
            pa.array(txn == INSTITUTIONAL),
            pc.binary_join_element_wise(facility, frequency, pa.scalar("", TEXT)),
            pa.scalar(None, TEXT),
        )
        return {
            "claim_id": claim_id,
            "patient_id": patient_id,
            "diagnosis_codes.0": diagnoses,
            "claim_type": pa.array(kind, TEXT),
            "claim_place": pc.if_else(
                pa.array(txn == PROFESSIONAL), facility, pa.scalar(None, TEXT)
            ),
            "bill_type": bill_type,
            "payer": pick(payer_fields[3], gather(sub, payers)),
            "line_of_business": business,
            "patient_birth_date": birth,
            "claim_provider": pc.coalesce(
                claim_rendering, pick(biller_fields[9], gather(billing, billers))
            ),
            "dates": self.claim_dates(),
        }

    def patient_ids(self, member_id: pa.Array, patient: np.ndarray) -> pa.Array:
        """The subscriber's member id; a dependent without an id of their own (HL 23) adds
        /LAST/FIRST from the patient's NM1*QC, so two dependents are two patients."""
        names, name_fields = self.header_values("NM1", "QC", 23, 4)
        at = gather(patient, names)
        last = pc.fill_null(pick(name_fields[3], at), "")
        first = pc.fill_null(pick(name_fields[4], at), "")
        dependent = pc.binary_join_element_wise(
            member_id, pc.utf8_upper(last), pc.utf8_upper(first), pa.scalar("/", TEXT)
        )
        return pc.if_else(pa.array(patient >= 0), dependent, member_id)

    def birth_dates(self):
        at, fields = self.header_values("DMG", None, 22, 2)
        at23, fields23 = self.header_values("DMG", None, 23, 2)
        values = pa.concat_arrays([fields[2], fields23[2]])
        qualifiers = pa.concat_arrays([fields[1], fields23[1]])
        values = pc.if_else(
            pc.fill_null(pc.equal(qualifiers, "D8"), False), values, pa.scalar(None, TEXT)
        )
        merged = np.where(at23 >= 0, at23 + len(fields[2]), at)
        return merged, values

    def rendering(self, where: np.ndarray, owner: np.ndarray):
        """First NM1*82 per owner (claim or line position) among segments under `where`."""
        loops = self.loops
        rows = loops.of("NM1")
        rows = rows[where[rows]]
        fields = self.fields(rows, 9)
        keep = equals(fields[1], "82")
        rows = rows[keep]
        fields = fields.subset(keep)
        return first_per(owner[rows], loops.n), fields

    def flag_bad_segments(self) -> None:
        """A segment with an impossible id in a loop a claim reads rejects that claim."""
        loops, clm = self.loops, self.clm
        bad = np.flatnonzero(loops.kind == KIND["BAD"])
        if not len(bad):
            return
        owner = np.where(loops.claim_of[bad] >= 0, loops.claim_of[bad], loops.header_hl[bad])
        first = first_per(owner, loops.n)
        text = {int(i): self.seg.string(i).split(self.seps.element, 1)[0][:12] for i in bad}

        def reason(at: int) -> str:
            index = int(bad[first[at]])
            return (
                f"segment id {text[index]!r} at {self.where(index)} is not an X12 segment id"
                " (2-3 capital letters or digits)"
            )

        for owners in (clm, self.patient, self.sub, self.billing):
            found = gather(owners, first)
            self.problems.flag(found >= 0, "segment", lambda i, o=owners: reason(int(o[i])))

    def flag_loop_order(self) -> None:
        loops = self.loops
        late = np.flatnonzero(
            np.isin(loops.kind, [KIND[k] for k in LINE_LEVEL_ONLY_OUTSIDE]) & (loops.line_of >= 0)
        )
        first = first_per(self.claim_index[loops.claim_of[late]], len(self.clm))
        self.problems.flag(
            first >= 0,
            "loop order",
            lambda i: (
                f"{self.segment_id(late[first[i]])}"
                f" at {self.where(late[first[i]])} follows the claim's service lines (LX);"
                " claim and subscriber segments come before them"
            ),
        )

    def diagnoses(self) -> pa.Array:
        """The claim's HI diagnosis codes (ABK/ABF/BK/BF), in order, comma-joined."""
        loops, seps = self.loops, self.seps
        hi = loops.of("HI")
        hi = hi[loops.claim_header[hi] & (self.claim_index[loops.claim_of[hi]] >= 0)]
        claim = self.claim_index[loops.claim_of[hi]]
        fields = self.fields(hi, 12)
        codes, owners, order = [], [], []
        malformed_at = np.full(len(hi), -1, np.int64)
        malformed_text: dict[int, str] = {}
        for k in range(1, min(12, int(fields.count.max(initial=0))) + 1):
            element = fields[k]
            present = valid(element)
            if not present.any():
                continue
            qualifier, code = fields.components(k, seps.component, 1)
            shaped = np.asarray(
                pc.fill_null(pc.match_substring_regex(qualifier, r"^[A-Z0-9]{1,3}$"), False)
            )
            broken = present & ~(shaped & valid(code))
            for i in np.flatnonzero(broken & (malformed_at < 0)):
                malformed_at[i] = k
                malformed_text[int(i)] = element[int(i)].as_py()
            wanted = present & ~broken & is_in(qualifier, DIAGNOSIS_QUALIFIERS)
            codes.append(code.filter(pa.array(wanted)))
            owners.append(claim[wanted])
            order.append(hi[wanted] * 16 + k)
        first = first_per(np.where(malformed_at >= 0, claim, -1), len(self.clm))
        self.problems.flag(
            first >= 0,
            "HI",
            lambda i: (
                f"HI{malformed_at[first[i]]:02d} {malformed_text[int(first[i])]!r} at"
                f" {self.where(hi[first[i]])} is not qualifier{seps.component}code"
                + separator_hint(malformed_text[int(first[i])], seps.component)
            ),
        )
        if not codes:
            return pa.nulls(len(self.clm), TEXT)
        code = pa.concat_arrays(codes)
        owner = np.concatenate(owners)
        sort = np.lexsort((np.concatenate(order), owner))
        counts = np.bincount(owner, minlength=len(self.clm))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        lists = pa.ListArray.from_arrays(pa.array(offsets), code.take(pa.array(sort)))
        joined = pc.binary_join(lists, pa.scalar(",", TEXT))
        return pc.if_else(pa.array(counts > 0), joined, pa.scalar(None, joined.type)).cast(TEXT)

    def claim_dates(self) -> tuple[pa.Array, pa.Array]:
        """Per claim: the claim-level date of service (DTP*472, else the 837I statement DTP*434)
        when it is one day, and the raw period (for messages)."""
        loops = self.loops
        dtp = loops.of("DTP")
        dtp = dtp[loops.claim_header[dtp]]
        fields = self.fields(dtp, 3)
        owner = self.claim_index[loops.claim_of[dtp]]
        chosen = np.full(len(self.clm), -1, np.int64)
        for qualifier in ("472", "434"):
            keep = equals(fields[1], qualifier)
            first = first_per(np.where(keep, owner, -1), len(self.clm))
            chosen = np.where(chosen >= 0, chosen, first)
        fmt = pick(fields[2], chosen)
        value = pick(fields[3], chosen)
        start, end = _period(fmt, value)
        one_day = np.asarray(pc.fill_null(pc.equal(start, end), False))
        return pc.if_else(pa.array(one_day), start, pa.scalar(None, TEXT)), value

    # --- rows --------------------------------------------------------------------------------

    def rows(self) -> dict[str, np.ndarray]:
        """One row per service line (LX), per service segment outside an LX, per claim
        without either; anchored at the segment the row points to."""
        loops = self.loops
        new = loops.pos >= self.first_new
        lx = loops.of("LX")
        lx = lx[new[lx]]
        sv = np.flatnonzero(np.isin(loops.kind, (KIND["SV1"], KIND["SV2"])) & loops.in837 & new)
        sv_line = loops.line_of[sv]
        first_sv = first_per(sv_line, loops.n)
        in_line = sv_line >= 0
        extra = in_line & (first_sv[np.maximum(sv_line, 0)] != np.arange(len(sv)))
        line_claim = self.claim_index[np.maximum(loops.claim_of[lx], 0)]
        line_claim = np.where(loops.claim_of[lx] >= 0, line_claim, -1)
        line_sv = gather(lx, gather(first_sv, sv))
        loose = sv[~in_line]
        loose_claim = np.where(
            loops.claim_of[loose] >= 0, self.claim_index[np.maximum(loops.claim_of[loose], 0)], -1
        )
        has_row = np.zeros(len(self.clm), dtype=bool)
        has_row[line_claim[line_claim >= 0]] = True
        has_row[loose_claim[loose_claim >= 0]] = True
        bare = np.flatnonzero(~has_row)
        claim = np.concatenate([line_claim, loose_claim, bare])
        row_lx = np.concatenate([lx, np.full(len(loose) + len(bare), -1)])
        row_sv = np.concatenate([line_sv, loose, np.full(len(bare), -1)])
        anchor = np.where(
            row_sv >= 0,
            row_sv,
            np.where(row_lx >= 0, row_lx, gather(claim, self.clm)),
        )
        order = np.argsort(anchor, kind="stable")
        rows = {
            "claim": claim[order],
            "lx": row_lx[order],
            "sv": row_sv[order],
            "anchor": anchor[order],
        }
        self.flag_rows(rows, sv[extra])
        return rows

    def flag_rows(self, rows: dict[str, np.ndarray], extra_sv: np.ndarray) -> None:
        """Claim problems that come from its service lines."""
        loops, problems = self.loops, self.problems
        claim, lx, sv = rows["claim"], rows["lx"], rows["sv"]
        clm = self.clm
        owned = claim >= 0
        problems.flag(
            _any_per(claim, owned & (lx < 0) & (sv < 0), len(clm)),
            "LX",
            lambda i: f"CLM at {self.where(clm[i])} has no service line (LX)",
        )
        at = _first_row(claim, owned & (lx >= 0) & (sv < 0), len(clm))
        problems.flag(
            at >= 0,
            "SV1",
            lambda i: f"the service line LX at {self.where(lx[at[i]])} has no SV1 or SV2 segment",
        )
        at = _first_row(claim, owned & (lx < 0) & (sv >= 0), len(clm))
        problems.flag(
            at >= 0,
            "LX",
            lambda i: (
                f"{self.segment_id(sv[at[i]])} at {self.where(sv[at[i]])}"
                " is not in a service line (no LX before it)"
            ),
        )
        extra_claim = self.claim_index[np.maximum(loops.claim_of[extra_sv], 0)]
        first = first_per(np.where(loops.claim_of[extra_sv] >= 0, extra_claim, -1), len(clm))
        problems.flag(
            first >= 0,
            "SV1",
            lambda i: (
                f"a second service segment at {self.where(extra_sv[first[i]])} in one service line"
            ),
        )

    # --- assembly ----------------------------------------------------------------------------

    def assemble(self, claims: dict[str, pa.Array], rows: dict[str, np.ndarray]) -> Flat:
        loops, problems, seps = self.loops, self.problems, self.seps
        claim, lx, sv = rows["claim"], rows["lx"], rows["sv"]
        count = len(claim)
        service = self.service(sv)
        line_number = pick(self.fields(lx[lx >= 0], 1)[1], _compact(lx))
        line_dates, line_fmt = self.line_dates(lx)
        claim_date, claim_period = claims["dates"]
        date = pc.coalesce(line_dates, pick(claim_date, claim))
        claim_at = gather(claim, self.clm)
        txn = np.where(claim_at >= 0, loops.txn[np.maximum(claim_at, 0)], 0) if loops.n else claim
        row_problems = Problems(count)
        if len(self.clm):
            owned = (claim >= 0) & problems.found[np.maximum(claim, 0)]
            source = claim[owned]
            row_problems.column[owned] = problems.column[source]
            row_problems.reason[owned] = problems.reason[source]
            row_problems.found[owned] = True
        row_problems.flag(
            claim < 0,
            "CLM",
            lambda i: (
                f"{self.segment_id(rows['anchor'][i])} at"
                f" {self.where(rows['anchor'][i])} is not in a claim (no CLM before it in its HL"
                " loop)"
            ),
        )
        self.line_problems(rows, service, date, line_fmt, claim_period, txn, row_problems)
        place = pc.coalesce(service["place"], pick(claims["claim_place"], claim))
        columns = {
            "claim_id": pick(claims["claim_id"], claim),
            "line_number": line_number,
            "patient_id": pick(claims["patient_id"], claim),
            "service_date": date,
            "procedure_code": service["code"],
            **{f"modifiers.{i}": service["modifiers"][i] for i in range(4)},
            "units": service["units"],
            "diagnosis_codes.0": pick(claims["diagnosis_codes.0"], claim),
            "claim_type": pick(claims["claim_type"], claim),
            "place_of_service": pc.if_else(
                pa.array(txn == PROFESSIONAL), place, pa.scalar(None, TEXT)
            ),
            "bill_type": pick(claims["bill_type"], claim),
            "payer": pick(claims["payer"], claim),
            "line_of_business": pick(claims["line_of_business"], claim),
            "patient_birth_date": pick(claims["patient_birth_date"], claim),
            "provider_id": pc.coalesce(service["provider"], pick(claims["claim_provider"], claim)),
            "charge_amount": service["charge"],
        }
        table = pa.table({name: columns[name].cast(pa.string()) for name in COLUMNS})
        anchor = rows["anchor"]
        del seps
        return Flat(
            table=table,
            segment=self.seg.number[anchor] if count else np.zeros(0, np.int64),
            line=self.seg.line[anchor] if count else np.zeros(0, np.int64),
            column=self.seg.column[anchor] if count else np.zeros(0, np.int64),
            problem_column=pa.array(row_problems.column, pa.string()),
            problem_reason=pa.array(row_problems.reason, pa.string()),
        )

    def service(self, sv: np.ndarray) -> dict:
        """Code, modifiers, units, charge, place of service and rendering provider per row."""
        loops = self.loops
        rows = sv[sv >= 0]
        at = _compact(sv)
        fields = self.fields(rows, 5)
        professional = loops.kind[rows] == KIND["SV1"]
        # SV1: 01 composite, 02 charge, 04 units, 05 place; SV2: 01 revenue, 02 composite,
        # 03 charge, 05 units.
        composite_span = fields.chosen(professional, 1, 2)
        parts = fields.component_spans(composite_span, self.seps.component, 5)
        rendering, rendering_fields = self.rendering(loops.line_of >= 0, loops.line_of)
        line_provider = pick(rendering_fields[9], gather(loops.line_of[rows], rendering))
        self.composite = (fields.text_at(composite_span, at),)
        revenue = fields.span(1)
        self.revenue = fields.text_at((*revenue[:2], revenue[2] & ~professional), at)
        self.service_kind = np.where(sv >= 0, loops.kind[np.maximum(sv, 0)], -1)
        place = fields.span(5)
        return {
            "code": fields.text_at(parts[1], at),
            "modifiers": [fields.text_at(parts[k], at) for k in range(2, 6)],
            "units": fields.text_at(fields.chosen(professional, 4, 5), at),
            "charge": fields.text_at(fields.chosen(professional, 2, 3), at),
            "place": fields.text_at((*place[:2], place[2] & professional), at),
            "provider": pick(line_provider, at),
        }

    def line_dates(self, lx: np.ndarray) -> tuple[pa.Array, pa.Array]:
        """Per row: the from-date of the line's first DTP*472, and its format qualifier."""
        loops = self.loops
        dtp = loops.of("DTP")
        dtp = dtp[loops.line_of[dtp] >= 0]
        fields = self.fields(dtp, 3)
        keep = equals(fields[1], "472")
        dtp = dtp[keep]
        fields = fields.subset(keep)
        first = first_per(loops.line_of[dtp], loops.n)
        at = gather(lx, first)
        start, _ = _period(fields[2], fields[3])
        self.line_dtp = gather(lx, gather(first, dtp))
        return pick(start, at), pick(fields[2], at)

    def line_problems(self, rows, service, date, line_fmt, claim_period, txn, out: Problems):
        """Broken service lines: each breaks its claim (every line of it is rejected)."""
        claim, sv = rows["claim"], rows["sv"]
        problems = Problems(len(claim))
        self.broken_lines: dict[int, list[int]] = {}
        composite = self.composite[0]
        seps = self.seps
        wrong_kind = ((self.service_kind == KIND["SV1"]) & (txn == INSTITUTIONAL)) | (
            (self.service_kind == KIND["SV2"]) & (txn == PROFESSIONAL)
        )
        problems.flag(
            (sv >= 0) & wrong_kind,
            "SV1",
            lambda i: (
                f"{self.segment_id(sv[i])} at {self.where(sv[i])} does not"
                " belong in an 837" + ("I" if txn[i] == INSTITUTIONAL else "P")
            ),
        )
        professional = self.service_kind == KIND["SV1"]
        composite_text = composite.to_pylist()
        no_component = valid(composite) & ~np.asarray(
            pc.fill_null(pc.match_substring(composite, seps.component), False)
        )
        problems.flag(
            (sv >= 0) & no_component & (professional | ~valid(service["code"])),
            "SV101",
            lambda i: (
                f"{'SV101' if professional[i] else 'SV202'} {composite_text[i]!r} at"
                f" {self.where(sv[i])} is not qualifier{seps.component}code"
                + separator_hint(composite_text[i], seps.component)
            ),
        )
        problems.flag(
            (sv >= 0) & professional & ~no_component & ~valid(service["code"]),
            "SV101",
            lambda i: f"SV1 at {self.where(sv[i])} has no procedure code (SV101-2)",
        )
        revenue = valid(self.revenue)
        problems.flag(
            (sv >= 0) & ~professional & ~revenue,
            "SV201",
            lambda i: f"SV2 at {self.where(sv[i])} has no revenue code (SV201)",
        )
        fmt = line_fmt.to_pylist()
        problems.flag(
            valid(line_fmt) & ~is_in(line_fmt, ("D8", "RD8")),
            "DTP02",
            lambda i: (
                f"DTP*472 at {self.where(self.line_dtp[i])} has date format"
                f" {fmt[i]!r} (DTP02); expected D8 or RD8"
            ),
        )
        period = pick(claim_period, claim).to_pylist()
        problems.flag(
            (sv >= 0) & ~valid(date),
            "DTP*472",
            lambda i: (
                f"the service line at {self.where(sv[i])} has no date: no DTP*472 in the"
                " line, and the claim has "
                + (
                    f"a period of several days ({period[i]})"
                    if period[i]
                    else "no single date either"
                )
            ),
        )
        for i in np.flatnonzero(problems.found & (claim >= 0)):
            self.broken_lines.setdefault(int(claim[i]), []).append(int(i))
        order = np.argsort(claim, kind="stable")
        ordered = claim[order]
        for owner, broken in self.broken_lines.items():
            low, high = np.searchsorted(ordered, [owner, owner + 1])
            for row in order[low:high]:
                for i in broken:
                    out.add(int(row), problems.column[i], problems.reason[i])
        bare = problems.found & (claim < 0)
        out.flag(bare, "", lambda i: problems.reason[i])
        code_missing = (sv >= 0) & ~professional & revenue & ~valid(service["code"])
        revenue_text = self.revenue.to_pylist()
        out.flag(
            code_missing,
            "procedure_code",
            lambda i: (
                f"SV2 at {self.where(sv[i])} has revenue code {revenue_text[i]!r} and no"
                " HCPCS code (SV202)"
            ),
        )


def _compact(index: np.ndarray) -> np.ndarray:
    """Positions of each row among the rows with index >= 0 (-1 for the others)."""
    present = index >= 0
    return np.where(present, np.cumsum(present) - 1, -1)


def _any_per(owner: np.ndarray, mask: np.ndarray, count: int) -> np.ndarray:
    out = np.zeros(count, dtype=bool)
    out[owner[mask & (owner >= 0)]] = True
    return out


def _first_row(owner: np.ndarray, mask: np.ndarray, count: int) -> np.ndarray:
    return first_per(np.where(mask, owner, -1), count)


def _period(fmt: pa.Array, value: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(from, through) of a DTP date: D8 `CCYYMMDD` or RD8 `CCYYMMDD-CCYYMMDD`."""
    ranged = pa.array(np.asarray(pc.fill_null(pc.equal(fmt, "RD8"), False)))
    single = pa.array(np.asarray(pc.fill_null(pc.equal(fmt, "D8"), False)))
    start = pc.if_else(ranged, pc.utf8_slice_codeunits(value, 0, 8), value)
    end = pc.if_else(ranged, pc.utf8_slice_codeunits(value, 9, 17), value)
    known = pc.or_(ranged, single)
    none = pa.scalar(None, TEXT)
    return pc.if_else(known, start, none), pc.if_else(known, end, none)


# --- reading a file ------------------------------------------------------------------------------


def read_windows(
    path: Path, content: bytes | None, block_bytes: int = BLOCK_BYTES
) -> Iterator[Flat]:
    """The claim lines of an 837 file, a window (about one block of bytes) at a time; a file
    without claim lines gives one empty window."""
    try:
        handle = path.open("rb") if content is None else io.BytesIO(content)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    with handle:
        last = None
        for window in windows(SegmentReader(path, handle, block_bytes)):
            last = flatten(window)
            if last.table.num_rows:
                yield last
                last = None
        if last is not None:
            yield last
