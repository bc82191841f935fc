"""Properties of a run over generated claim sets (hypothesis).

Claim sets are built directly: a few patients, a few service dates around the code-set
changes of 2015 and 2026 (in every accepted date form), codes drawn from the catalog's code
sets, lines split between hospital, professional and setting-less claims, with modifiers,
units, beam modality, treatment tags, diagnoses and birth dates (some members under age; some
lines without a birth date, which then take the member's, and a few members whose lines
disagree on it).
Most properties also damage some rows (blank code, impossible date, negative units, a row cut
short, a repeated claim line, a claim under a second patient).

Examples per property: IGRT_PROPERTY_EXAMPLES (default 40; half that for streaming). Runs are
derandomized (the same examples every time) unless IGRT_PROPERTY_RANDOM=1.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache, partial
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import igrt_edits.run.local as pipeline
import igrt_edits.run.stream as stream_module
from igrt_edits.catalog.load import load_catalog
from igrt_edits.catalog.rule import Catalog
from igrt_edits.cli import main
from igrt_edits.config import Config
from igrt_edits.contract import INPUT_COLUMNS
from igrt_edits.errors import EditDataError
from igrt_edits.run.check import run_check

from reference_impl import RULES, reference_findings


@cache
def catalog() -> Catalog:
    return load_catalog()


def _sets() -> dict[str, frozenset[str]]:
    """The catalog's code sets; none when an edit file is broken (then the tests fail when they
    load the catalog, instead of the module failing to be collected)."""
    try:
        return catalog().data.sets
    except EditDataError:
        return {}


CONFIG = Config(cpt_lines_of_business=("commercial",))

EXAMPLES = int(os.environ.get("IGRT_PROPERTY_EXAMPLES", "40"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("IGRT_PROPERTY_RANDOM") != "1",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Streaming runs each example through many tiny batches and partitions: half as many examples.
STREAMING = settings(PROPERTY, max_examples=max(1, EXAMPLES // 2))

NOT_DRAWN = ("payer", "patient_age", "provider_id", "charge_amount")
COLUMNS = [c for c in INPUT_COLUMNS if c not in NOT_DRAWN]
# Service dates (year, month, day) around the 2015 and 2026 code changes; several per year so
# patient-days and claims spanning days both occur.
DAYS = [(2014, 12, 30), (2014, 12, 31), (2015, 1, 2), (2019, 5, 1), (2019, 5, 2), (2025, 12, 31)]
DAYS += [(2026, 1, 2)]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DATE_FORMS = [
    lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
    lambda y, m, d: f"{m}/{d}/{y}",
    lambda y, m, d: f"{y:04d}{m:02d}{d:02d}",
    lambda y, m, d: f"{d:02d}-{MONTHS[m - 1]}-{y}",
]
# Code groups from the catalog (IGRT twice as likely), plus codes no rule uses.
SETS = _sets()
GROUPS = [
    sorted(SETS.get(name, ()))
    for name in (
        *("igrt", "igrt", "imrt_delivery", "nonimrt_delivery", "sbrt_srs"),
        *("brachytherapy_delivery", "superficial_delivery", "proton_delivery"),
        *("other_external_beam_delivery", "physics_consult"),
    )
]
UNUSED_CODES = ["77336", "77427", "77280", "G0463", "99213"]
GROUPS.append(UNUSED_CODES)
MODIFIERS = ["", "", "26", "TC", "26,59", "TC 59", "59"]
UNITS = ["", "1", "1", "2", "0", "1.0"]
DIAGNOSES = ["", "C61", "C50.912", "C50.911", "Z85.3", "C20", "C67.9", "C34.90", "C61 Z92.3"]
TAGS = ["", "", "prone", "boost photon", "dibh", "apbi", "belly_board", "boost"]
MODALITY = ["", "", "photon", "electron"]
BIRTHS = ["", "1950-04-02", "2010-06-15", "2000-05-01"]  # 2000-05-01 turns 19 on 2019-05-01
# How a line is billed: (claim id prefix, claim_type, bill_type or place_of_service choices).
KINDS = [
    ("H", "institutional", ["0131", "131", "0121", "0851"]),
    ("P", "professional", ["22", "11", "19"]),
    ("X", "", [""]),
    ("Q", "", ["22", "11"]),  # no claim type: a place of service means professional
]
# Whose birth date a line carries: the member's (usually), none, or another one.
BIRTH_FORMS = ["member", "member", "member", "none", "none", "other"]
DAMAGE = ["blank_code", "bad_date", "negative_units", "short_row", "repeat", "other_patient"]


@st.composite
def claim_sets(draw, max_lines: int = 24, damaged: bool = True) -> list[dict[str, Any]]:
    """Rows keyed by COLUMNS; a row with `_short` set is written cut short."""
    patients = draw(st.integers(1, 3))
    births = [draw(st.sampled_from(BIRTHS)) for _ in range(patients)]
    lines_per_claim: Counter[str] = Counter()
    rows = []
    for _ in range(draw(st.integers(1, max_lines))):
        row = _line(draw, draw(st.integers(0, patients - 1)), births, lines_per_claim)
        rows.append(row)
    if damaged:
        for kind in draw(st.lists(st.sampled_from(DAMAGE), max_size=3)):
            _damage(draw, rows, kind)
    return rows


def _line(draw, patient: int, births: list[str], lines_per_claim: Counter) -> dict[str, Any]:
    prefix, claim_type, places = draw(st.sampled_from(KINDS))
    claim = f"{prefix}{patient}{draw(st.integers(0, 1))}"
    lines_per_claim[claim] += 1
    place = draw(st.sampled_from(places))
    institutional = claim_type == "institutional"
    return {
        "claim_id": claim,
        "line_number": str(lines_per_claim[claim]),
        "patient_id": f"M{patient}",
        "service_date": draw(st.sampled_from(DATE_FORMS))(*draw(st.sampled_from(DAYS))),
        "procedure_code": draw(st.sampled_from(draw(st.sampled_from(GROUPS)))),
        "modifiers": draw(st.sampled_from(MODIFIERS)),
        "units": draw(st.sampled_from(UNITS)),
        "diagnosis_codes": draw(st.sampled_from(DIAGNOSES)),
        "claim_type": claim_type,
        "bill_type": place if institutional else "",
        "place_of_service": "" if institutional else place,
        "setting": draw(st.sampled_from(["", "", "", "", "OPPS", "MPFS", "OTHER"])),
        "line_of_business": draw(st.sampled_from(["", "commercial", "medicare"])),
        "patient_birth_date": _birth(draw, births[patient]),
        "beam_modality": draw(st.sampled_from(MODALITY)),
        "treatment_indicators": draw(st.sampled_from(TAGS)),
    }


def _birth(draw, member: str) -> str:
    form = draw(st.sampled_from(BIRTH_FORMS))
    if form == "member":
        return member
    return "" if form == "none" else draw(st.sampled_from(BIRTHS))


def _damage(draw, rows: list[dict[str, Any]], kind: str) -> None:
    """Damage one row in place, or add a conflicting copy of one."""
    row = rows[draw(st.integers(0, len(rows) - 1))]
    if kind == "blank_code":
        row["procedure_code"] = ""
    elif kind == "bad_date":
        row["service_date"] = "2019-02-30"
    elif kind == "negative_units":
        row["units"] = "-1"
    elif kind == "short_row":
        row["_short"] = True
    elif kind == "repeat":  # the same claim line twice (another code)
        rows.append({**row, "procedure_code": draw(st.sampled_from(sorted(SETS["igrt"])))})
    else:  # the claim also under another patient, on a new line
        rows.append({**row, "patient_id": "M9", "line_number": "99"})


# --- running -------------------------------------------------------------------------------


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        values = [row[c] for c in COLUMNS]
        writer.writerow(values[:5] if row.get("_short") else values)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


@contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def lint_files(paths: list[Path], *, stream: bool = False):
    _, _, result = run_check([str(p) for p in paths], CONFIG, catalog(), stream=stream)
    return result


def lint_rows(rows: list[dict[str, Any]], *, stream: bool = False):
    with folder() as directory:
        return lint_files([write_csv(directory / "claims.csv", rows)], stream=stream)


def findings(result) -> Counter:
    """Every finding with everything but where it sits in the input (file, row)."""
    frame = result.findings
    keys = ["rule_id", "claim_id", "line_number", "severity", "message", "fingerprint"]
    return Counter(
        (*(row[k] for k in keys), tuple(row["related_lines"])) for row in frame.to_dict("records")
    )


def rejects(result) -> Counter:
    names = ("claim_id", "line_number", "column", "reason")
    return Counter(tuple(row[n] for n in names) for row in result.rejects.to_pylist())


def keys(result) -> set[tuple[str, str, int]]:
    frame = result.findings
    return set(zip(frame["rule_id"], frame["claim_id"], frame["line_number"], strict=True))


# --- properties ----------------------------------------------------------------------------


@PROPERTY
@given(rows=claim_sets(), order=st.randoms(use_true_random=False))
def test_findings_do_not_depend_on_row_order(rows, order) -> None:
    shuffled = rows[:]
    order.shuffle(shuffled)
    first, second = lint_rows(rows), lint_rows(shuffled)
    assert findings(second) == findings(first)
    assert rejects(second) == rejects(first)


@PROPERTY
@given(rows=claim_sets(), files=st.lists(st.integers(0, 3), min_size=60, max_size=60))
def test_findings_do_not_depend_on_how_lines_are_split_across_files(rows, files) -> None:
    with folder() as directory:
        parts = [write_csv(directory / f"part{i}.csv", []) for i in range(4)]
        for i, path in enumerate(parts):
            write_csv(path, [row for n, row in enumerate(rows) if files[n % 60] == i])
        split = lint_files(parts)
    whole = lint_rows(rows)
    assert findings(split) == findings(whole)
    assert rejects(split) == rejects(whole)
    assert split.totals() == whole.totals()


@PROPERTY
@given(rows=claim_sets())
def test_every_row_is_accounted_for(rows) -> None:
    result = lint_rows(rows)
    for summary in result.files:
        counts = summary.accounting()
        assert counts["rows_read"] == len(rows)
        assert counts["rows_read"] == (
            counts["rows_checked"] + counts["rows_rejected"] + counts["rows_out_of_scope"]
        )
    assert result.rejects.num_rows == result.totals()["rows_rejected"]


@STREAMING
@given(
    rows=claim_sets(),
    partitions=st.integers(1, 4),
    batch_lines=st.integers(1, 8),
    files=st.integers(1, 3),
)
def test_streaming_agrees_with_in_memory(rows, partitions, batch_lines, files) -> None:
    """lint(..., stream=True) through several partitions and small batches: the same run."""
    streamed = partial(stream_module.lint_streamed, partitions=partitions)
    with folder() as directory:
        paths = [write_csv(directory / f"part{i}.csv", rows[i::files]) for i in range(files)]
        in_memory = lint_files(paths)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(stream_module, "lint_streamed", streamed)
            patch.setattr(pipeline, "BATCH_LINES", batch_lines)
            on_disk = lint_files(paths, stream=True)
    assert findings(on_disk) == findings(in_memory)
    assert on_disk.rejects.to_pylist() == in_memory.rejects.to_pylist()
    assert [f.accounting() for f in on_disk.files] == [f.accounting() for f in in_memory.files]
    assert list(on_disk.findings["source_row"]) == list(in_memory.findings["source_row"])


@PROPERTY
@given(rows=claim_sets(), extra=claim_sets(max_lines=12, damaged=False), same_days=st.booleans())
def test_unrelated_lines_never_change_other_findings(rows, extra, same_days) -> None:
    """New claims, either of new patients (any codes) or of the same patients with codes no
    rule uses, no treatment tags and no birth dates (a birth date would be evidence of the
    member's age), change no finding on the original lines."""
    for row in extra:
        row["claim_id"] = "U" + row["claim_id"]
        if same_days:
            row["procedure_code"] = UNUSED_CODES[len(row["claim_id"]) % len(UNUSED_CODES)]
            row["treatment_indicators"] = ""
            row["patient_birth_date"] = ""
        else:
            row["patient_id"] = "N" + row["patient_id"]
    before = lint_rows(rows)
    after = lint_rows(rows + extra)
    original = {(r["claim_id"], int(r["line_number"])) for r in rows if r["line_number"].isdigit()}
    kept = Counter(f for f in findings(after) if (f[1], f[2]) in original)
    assert kept == findings(before)


@PROPERTY
@given(rows=claim_sets())
def test_running_twice_gives_identical_outputs(rows) -> None:
    """The same input gives byte-identical findings and rejects (the JSON summary differs only
    in its wall-clock time)."""
    with folder() as directory:
        path = write_csv(directory / "claims.csv", rows)
        outputs = []
        for run in (1, 2):
            stem = directory / f"run{run}"
            for fmt in ("json", "csv"):
                args = ["check", str(path), "--format", fmt, "-o", f"{stem}.{fmt}"]
                result = CliRunner().invoke(main, [*args, "--rejects", f"{stem}.rejects.csv"])
                assert result.exit_code in (0, 1), result.output
            document = json.loads(Path(f"{stem}.json").read_text(encoding="utf-8"))
            assert isinstance(document["summary"].pop("wall_seconds"), float)
            outputs.append(
                (
                    document,
                    Path(f"{stem}.csv").read_bytes(),
                    Path(f"{stem}.rejects.csv").read_bytes(),
                )
            )
    assert outputs[0] == outputs[1]


@PROPERTY
@given(rows=claim_sets(max_lines=30, damaged=False), damage=st.sampled_from(["none", *DAMAGE[4:]]))
def test_engine_agrees_with_the_reference(rows, damage) -> None:
    """On valid rows (repeated claim lines and claims under two patients included) the engine
    and the independent reference implementation flag exactly the same lines."""
    if damage == "repeat":
        rows.append({**rows[0], "procedure_code": "77014"})
    elif damage == "other_patient":
        rows.append({**rows[0], "patient_id": "M9", "line_number": "99"})
    expected = reference_findings(rows, cpt_lines_of_business=CONFIG.cpt_lines_of_business)
    assert {k for k in keys(lint_rows(rows)) if k[0] in RULES} == expected
