"""Claim lines of an 837 file as pyx12 reads it: an independent check of the X12 flattener.

pyx12 walks each segment through the HIPAA implementation guide's maps (005010X222A1 and
005010X223A2), so every segment comes with the loop the guide puts it in (2010BA, 2300, 2330B,
2400, 2420A, ...) and its composites split by the ISA's separators. The lines below are built
from those loops alone, following the README's "Claim formats" mapping; nothing here shares
code with igrt_edits' reader except the SBR09 table the mapping names.

pyx12 knows the HIPAA-adopted guides only: files naming the LinuxForHealth versions
(X222A2, X223A3) are read with GS08/ST03 set back to X222A1/X223A2, as their provenance note
says. Its validation errors are kept (by segment number) so a test can check that every claim
the reader rejects is one pyx12 finds fault with.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyx12.error_handler
import pyx12.params
import pyx12.x12context

from igrt_edits.ingest.x12_lines import FILING_CODES

DIAGNOSES = {"ABK", "ABF", "BK", "BF"}


@dataclass
class Claim:
    claim_id: str | None
    claim_type: str
    facility: str | None
    frequency: str | None
    diagnoses: list[str]
    member: dict
    segment: int
    context_start: int
    """Segment number of the billing provider HL the claim is under."""
    date: str | None = None
    provider: str | None = None
    end: int = 0
    lines: list[dict] = field(default_factory=list)


@dataclass
class Reading:
    """What pyx12 made of a file: its claims and the segment numbers it reported errors at."""

    claims: list[Claim]
    error_segments: set[int]

    def rows(self) -> list[dict]:
        """One dict per service line, in the reader's columns (before normalization)."""
        return [row for claim in self.claims for row in _rows(claim)]


class _Errors(logging.Handler):
    """pyx12 logs each validation error as `Line:N ...`, N counting segments."""

    def __init__(self) -> None:
        super().__init__()
        self.segments: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        match = re.match(r"Line:(\d+) ", record.getMessage())
        if match:
            self.segments.add(int(match.group(1)))


def read_with_pyx12(path: Path) -> Reading:
    text = path.read_text(encoding="utf-8", errors="replace")
    text = text.replace("X222A2", "X222A1").replace("X223A3", "X223A2")
    logger = logging.getLogger("pyx12")
    errors, propagate = _Errors(), logger.propagate
    logger.addHandler(errors)
    logger.propagate = False
    try:
        handler = pyx12.error_handler.err_handler()
        source = pyx12.x12context.X12ContextReader(
            pyx12.params.params(), handler, io.StringIO(text)
        )
        walk = _Walk()
        for number, node in enumerate(source.iter_segments(), start=1):
            walk.segment(number, node.x12_map_node.get_path(), node.seg_data)
        walk.close()
    finally:
        logger.removeHandler(errors)
        logger.propagate = propagate
    return Reading(walk.claims, errors.segments)


class _Walk:
    def __init__(self) -> None:
        self.claims: list[Claim] = []
        self.billing: dict = {}
        self.subscriber: dict = {}
        self.patient: dict | None = None
        self.claim: Claim | None = None
        self.line: dict | None = None
        self.guide = ""

    def segment(self, number: int, path: str, seg) -> None:
        name = seg.get_seg_id()
        loops = path.split("/")
        value = seg.get_value
        if name == "ST":
            self.guide = value("ST03") or ""
        if name in ("HL", "SE"):
            self.close()
        if name == "HL":
            level = value("HL03")
            if level == "20":
                self.billing = {"segment": number}
            elif level == "22":
                self.subscriber = {"billing": self.billing}
                self.patient = None
            elif level == "23":
                self.patient = {}
        elif "2010AA" in loops and name == "NM1":
            self.billing["npi"] = value("NM109")
        elif "2000B" in loops and "2300" not in loops and "2000C" not in loops:
            self._subscriber(name, loops, value)
        elif "2010CA" in loops and self.patient is not None:
            if name == "NM1":
                self.patient["name"] = (value("NM103") or "", value("NM104") or "")
            elif name == "DMG" and value("DMG01") == "D8":
                self.patient["birth"] = value("DMG02")
        elif name == "CLM":
            self.close()
            self._claim(number, value)
        elif self.claim is not None:
            self._in_claim(number, name, loops, value)

    def _subscriber(self, name: str, loops: list[str], value) -> None:
        if name == "SBR":
            self.subscriber["filing"] = value("SBR09")
        elif "2010BA" in loops and name == "NM1":
            self.subscriber["id"] = value("NM109")
        elif "2010BA" in loops and name == "DMG" and value("DMG01") == "D8":
            self.subscriber["birth"] = value("DMG02")
        elif "2010BB" in loops and name == "NM1":
            self.subscriber["payer"] = value("NM103")

    def _claim(self, number: int, value) -> None:
        professional = "X222" in self.guide
        self.claim = Claim(
            claim_id=value("CLM01"),
            claim_type="professional" if professional else "institutional",
            facility=value("CLM05-1"),
            frequency=value("CLM05-3"),
            diagnoses=[],
            member={"subscriber": dict(self.subscriber), "patient": self.patient},
            segment=number,
            context_start=self.subscriber.get("billing", {}).get("segment", number),
        )
        self.claims.append(self.claim)

    def _in_claim(self, number: int, name: str, loops: list[str], value) -> None:
        claim = self.claim
        claim.end = number
        if "2400" in loops:
            if name == "LX":
                self.line = {"lx": value("LX01"), "segment": number}
                claim.lines.append(self.line)
            elif name in ("SV1", "SV2") and "code" not in self.line:
                self.line["segment"] = number
                self._service(name, value)
            elif name == "DTP" and value("DTP01") == "472" and "date" not in self.line:
                self.line["date"] = _from_date(value("DTP02"), value("DTP03"))
                self.line["format"] = value("DTP02")
            elif name == "NM1" and value("NM101") == "82" and "provider" not in self.line:
                self.line["provider"] = value("NM109")
        elif "2320" in loops:
            return  # other payers' loops are not read
        elif name == "HI":
            for k in range(1, 13):
                if value(f"HI{k:02d}-1") in DIAGNOSES and value(f"HI{k:02d}-2"):
                    claim.diagnoses.append(value(f"HI{k:02d}-2"))
        elif name == "DTP" and value("DTP01") in ("472", "434"):
            period = (value("DTP02"), value("DTP03"))
            if value("DTP01") == "472" or claim.date is None:
                claim.date = _single_day(*period)
        elif name == "NM1" and value("NM101") == "82" and claim.provider is None:
            claim.provider = value("NM109")

    def _service(self, name: str, value) -> None:
        line = self.line
        if name == "SV1":
            composite, charge, units, place = "SV101", "SV102", "SV104", value("SV105")
        else:
            composite, charge, units, place = "SV202", "SV203", "SV205", None
        line.update(
            code=value(f"{composite}-2"),
            modifiers=[value(f"{composite}-{i}") for i in range(3, 7)],
            charge=value(charge),
            units=value(units),
            place=place,
        )

    def close(self) -> None:
        self.claim = None
        self.line = None


def _from_date(fmt: str | None, value: str | None) -> str | None:
    if fmt == "D8":
        return value
    if fmt == "RD8" and value:
        return value[:8]
    return None


def _single_day(fmt: str | None, value: str | None) -> str | None:
    if fmt == "D8":
        return value
    if fmt == "RD8" and value and value[:8] == value[9:17]:
        return value[:8]
    return None


def _rows(claim: Claim) -> list[dict]:
    subscriber, patient = claim.member["subscriber"], claim.member["patient"]
    member = subscriber.get("id")
    if patient is not None:
        last, first = patient.get("name", ("", ""))
        member = f"{member}/{last.upper()}/{first.upper()}"
        birth = patient.get("birth")
    else:
        birth = subscriber.get("birth")
    professional = claim.claim_type == "professional"
    rows = []
    for line in claim.lines:
        rows.append(
            {
                "segment": line["segment"],
                "claim_id": claim.claim_id,
                "line_number": line["lx"],
                "patient_id": member,
                "service_date": line.get("date") or claim.date,
                "procedure_code": line.get("code"),
                "modifiers": [m for m in line.get("modifiers", []) if m],
                "units": line.get("units"),
                "diagnosis_codes": ",".join(claim.diagnoses) or None,
                "claim_type": claim.claim_type,
                "place_of_service": (line.get("place") or claim.facility) if professional else None,
                "bill_type": None if professional else f"{claim.facility}{claim.frequency}",
                "payer": subscriber.get("payer"),
                "line_of_business": FILING_CODES.get(subscriber.get("filing")),
                "patient_birth_date": birth,
                "provider_id": line.get("provider")
                or claim.provider
                or subscriber.get("billing", {}).get("npi"),
                "charge_amount": line.get("charge"),
            }
        )
    return rows
