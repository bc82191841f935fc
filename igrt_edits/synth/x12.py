"""Generated claim lines written as an X12 5010 837 interchange (for trials and benchmarks).

Professional claims go to an 837P group (005010X222A1), institutional claims to an 837I group
(005010X223A2), at most `CLAIMS_PER_TRANSACTION` claims per transaction set. Each claim gets
its own subscriber loop (HL 22: SBR, NM1*IL, DMG, NM1*PR), then CLM, HI and, per line, LX,
SV1 or SV2 and DTP*472; the rendering provider is NM1*82 at claim level. Segments are built
column-wise with Arrow string kernels. What an 837 has no place for (beam modality, treatment
indicators) is not written. Fixed envelope dates keep the bytes the same for the same lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CLAIMS_PER_TRANSACTION = 5_000
STAMP = ("260101", "20260101", "1200")
ISA = (
    "ISA*00*          *00*          *ZZ*IGRTEDITS      *ZZ*RECEIVER       *{date}*{time}*^*00501"
    "*000000001*0*T*:~\n"
)
GUIDES = {"professional": "005010X222A1", "institutional": "005010X223A2"}
FILING = {
    "medicare": "MB",
    "medicaid": "MC",
    "medicare_advantage": "16",
    "commercial": "CI",
}
TEXT = pa.large_string()


def write_x12(out: BinaryIO, table: pa.Table) -> None:
    """Write the lines of `table` (the generator's columns) as one 837 interchange."""
    date, ccyymmdd, time = STAMP
    out.write(ISA.format(date=date, time=time).encode())
    groups = 0
    for kind, guide in GUIDES.items():
        lines = table.filter(pc.equal(table.column("claim_type"), kind))
        if not lines.num_rows:
            continue
        groups += 1
        out.write(f"GS*HC*IGRTEDITS*RECEIVER*{ccyymmdd}*{time}*{groups}*X*{guide}~\n".encode())
        count = 0
        for count, body in enumerate(_transactions(_sorted(lines), kind), start=1):
            segments = body.count(b"~") + 9
            control = f"{count:04d}"
            out.write(_header(control, guide, ccyymmdd, time).encode())
            out.write(body)
            out.write(f"SE*{segments}*{control}~\n".encode())
        out.write(f"GE*{count}*{groups}~\n".encode())
    out.write(f"IEA*{groups}*000000001~\n".encode())


def _header(control: str, guide: str, ccyymmdd: str, time: str) -> str:
    return (
        f"ST*837*{control}*{guide}~\n"
        f"BHT*0019*00*{control}*{ccyymmdd}*{time}*CH~\n"
        "NM1*41*2*IGRT EDITS SYNTHETIC*****46*IGRTEDITS~\n"
        "PER*IC*CONTACT*TE*5555550100~\n"
        "NM1*40*2*RECEIVER*****46*RECEIVER~\n"
        "HL*1**20*1~\n"
        "NM1*85*2*SYNTHETIC RADIATION ONCOLOGY*****XX*1234567893~\n"
        "N3*1 MAIN ST~\n"
        "N4*NEWARK*NJ*071020000~\n"
    )


def _sorted(lines: pa.Table) -> pa.Table:
    order = pc.sort_indices(lines, [("claim_id", "ascending"), ("line_number", "ascending")])
    return lines.take(order)


def _transactions(lines: pa.Table, kind: str) -> Iterator[bytes]:
    """The segments of each transaction's claims (HL 22 loops), as bytes."""
    claim = lines.column("claim_id").combine_chunks()
    first = np.ones(len(claim), dtype=bool)
    if len(claim) > 1:
        first[1:] = np.asarray(pc.not_equal(claim.slice(1), claim.slice(0, len(claim) - 1)))
    ordinal = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    for begin in range(0, len(starts), CLAIMS_PER_TRANSACTION):
        low = starts[begin]
        high = (
            starts[begin + CLAIMS_PER_TRANSACTION]
            if begin + CLAIMS_PER_TRANSACTION < len(starts)
            else len(claim)
        )
        part = lines.slice(low, high - low)
        text = _segments(part, first[low:high], ordinal[low:high] - begin, kind)
        yield _bytes(text)


def _segments(lines: pa.Table, first: np.ndarray, ordinal: np.ndarray, kind: str) -> pa.Array:
    """One string per line: its claim's loop header (on the claim's first line), then the
    line's LX, SV1/SV2 and DTP*472."""
    col = {name: _text(lines.column(name)) for name in lines.column_names}
    date = pc.strftime(lines.column("service_date").combine_chunks(), "%Y%m%d").cast(TEXT)
    birth = pc.strftime(lines.column("patient_birth_date").combine_chunks(), "%Y%m%d").cast(TEXT)
    hl = pa.array((ordinal + 2).astype(str), TEXT)
    filing = pa.array(list(FILING.values()), TEXT).take(
        pc.index_in(col["line_of_business"], pa.array(list(FILING), TEXT))
    )
    total = _claim_totals(lines.column("charge_amount").combine_chunks(), first)
    composite = _join(
        "HC:", col["procedure_code"], _prefixed(pc.replace_substring(col["modifiers"], ",", ":"))
    )
    if kind == "professional":
        place = pc.fill_null(col["place_of_service"], "11")
        clm = _join("CLM*", col["claim_id"], "*", total, "***", place, ":B:1*Y*A*Y*Y~\n")
        service = _join(
            "SV1*", composite, "*", col["charge_amount"], "*UN*", col["units"], "***1~\n"
        )
        extra = pa.scalar("", TEXT)
    else:
        bill = pc.fill_null(col["bill_type"], "0131")
        facility = pc.utf8_slice_codeunits(bill, 1, 3)
        frequency = pc.utf8_slice_codeunits(bill, 3, 4)
        clm = _join("CLM*", col["claim_id"], "*", total, "***", facility, ":A:", frequency,
                    "*Y*A*Y*Y~\n")  # fmt: skip
        service = _join(
            "SV2*0333*", composite, "*", col["charge_amount"], "*UN*", col["units"], "~\n"
        )
        extra = _join("DTP*434*RD8*", date, "-", date, "~\nCL1*1**01~\n")
    diagnoses = pc.replace_substring(
        pc.replace_substring(col["diagnosis_codes"], ".", ""), ",", "*ABF:"
    )
    header = _join(
        "HL*", hl, "*1*22*0~\nSBR*P*18*******", pc.fill_null(filing, "ZZ"), "~\n",
        "NM1*IL*1*MEMBER*PATIENT****MI*", col["patient_id"], "~\n",
        pc.if_else(pc.is_valid(birth), _join("DMG*D8*", birth, "*U~\n"), pa.scalar("", TEXT)),
        "NM1*PR*2*", pc.fill_null(col["payer"], "UNKNOWN PAYER"), "*****PI*PAYER01~\n",
        clm, extra,
        pc.if_else(pc.is_valid(diagnoses), _join("HI*ABK:", diagnoses, "~\n"), pa.scalar("", TEXT)),
        "NM1*82*1*RENDERING*PROVIDER****XX*", pc.fill_null(col["provider_id"], "1234567893"), "~\n",
    )  # fmt: skip
    line = _join("LX*", col["line_number"], "~\n", service, "DTP*472*D8*", date, "~\n")
    return pc.binary_join_element_wise(
        pc.if_else(pa.array(first), header, pa.scalar("", TEXT)), line, pa.scalar("", TEXT)
    )


def _text(column: pa.ChunkedArray) -> pa.Array:
    array = column.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_floating(array.type):
        array = pc.round(array, 2)
    return array.cast(TEXT)


def _prefixed(modifiers: pa.Array) -> pa.Array:
    empty = pc.or_(pc.is_null(modifiers), pc.equal(modifiers, ""))
    return pc.if_else(empty, pa.scalar("", TEXT), _join(":", pc.fill_null(modifiers, "")))


def _claim_totals(charges: pa.Array, first: np.ndarray) -> pa.Array:
    values = np.asarray(pc.fill_null(charges, 0.0), dtype=float)
    claims = np.cumsum(first) - 1
    totals = np.bincount(claims, weights=values)[claims]
    return pa.array(np.round(totals, 2)).cast(pa.string()).cast(TEXT)


def _join(*parts) -> pa.Array:
    """Element-wise concatenation of arrays and literal strings."""
    values = [
        pa.scalar(p, TEXT) if isinstance(p, str) else pc.fill_null(p.cast(TEXT), "") for p in parts
    ]
    return pc.binary_join_element_wise(*values, pa.scalar("", TEXT))


def _bytes(text: pa.Array) -> bytes:
    """The concatenation of a string array's values, straight from its data buffer."""
    text = text.cast(TEXT)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[
        text.offset : text.offset + len(text) + 1
    ]
    return text.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]
