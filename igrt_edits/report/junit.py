"""Findings as JUnit XML: one test suite per input file, one test case per claim.

A claim with findings fails with one `<failure>` per finding (type = severity, message = rule
and message, body = the line, related lines, policy and fingerprint); a claim without findings
passes; a claim whose lines are all out of scope (members under the adult age) is skipped;
a claim whose every line was rejected for a claim conflict is an error.
A claim whose lines span files belongs to the file of its first line. Each suite's properties
carry that file's row accounting. The XML is assembled with Arrow string kernels, so a run
with millions of claims writes in seconds.
"""

from __future__ import annotations

from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.errors import RunError
from igrt_edits.report.frames import findings_table
from igrt_edits.run.result import FileSummary, RunResult

INVALID_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]"
TEXT_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
ATTRIBUTE_ESCAPES = (*TEXT_ESCAPES, ('"', "&quot;"), ("\n", "&#10;"), ("\r", "&#13;"))
WRITE_CHUNK = 10_000
REJECTED = (
    '      <error type="rejected" message="every line of the claim was rejected (a claim under'
    ' two patient ids or a repeated claim line; see the rejects output)"/>\n'
)
SKIPPED = '      <skipped message="every line is out of scope (member under the adult age)"/>\n'


def escape(values: pa.Array, *, attribute: bool = True) -> pa.Array:
    """XML-escaped text; attribute values also keep their line breaks as references."""
    text = pc.replace_substring_regex(values.cast(pa.large_string()), INVALID_XML, "\ufffd")
    for raw, escaped in ATTRIBUTE_ESCAPES if attribute else TEXT_ESCAPES:
        text = pc.replace_substring(text, raw, escaped)
    return text


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def _join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation as large strings (a big run's XML can pass 2 GiB)."""
    large = [_text(p) if isinstance(p, str) else p.cast(pa.large_string()) for p in parts]
    return pc.binary_join_element_wise(*large, _text(""))


def _claims(lines: pa.Table, status: str, names: list[str]) -> pd.DataFrame:
    """Each claim's first file and row among the lines of a status (claim_id, file, row, path)."""
    lines = lines.filter(pc.equal(lines.column("_status").cast(pa.string()), status))
    if lines.num_rows == 0:
        return pd.DataFrame(
            {
                "claim_id": pd.Series([], dtype=object),
                "file": pd.Series([], dtype=np.int64),
                "row": pd.Series([], dtype=np.int64),
                "path": pd.Series([], dtype=object),
            }
        )
    frame = pd.DataFrame(
        {
            "claim_id": lines.column("claim_id").cast(pa.string()).to_numpy(zero_copy_only=False),
            "file": lines.column("_file").to_numpy().astype(np.int64),
            "row": lines.column("_row").to_numpy().astype(np.int64),
        }
    )
    first = frame.sort_values(["claim_id", "file", "row"], kind="stable")
    first = first.drop_duplicates("claim_id").reset_index(drop=True)
    first["path"] = np.asarray(names, dtype=object)[first["file"].to_numpy()]
    return first


def _failures(findings: pd.DataFrame) -> tuple[np.ndarray, pa.Array]:
    """(claim ids, the <failure> elements of each claim) for findings sorted by claim."""
    if findings.empty:
        return np.array([], dtype=object), pa.array([], pa.string())
    table = findings_table(findings)
    col = {name: table.column(name).combine_chunks() for name in table.column_names}
    text = {
        name: pc.cast(array, pa.large_string())
        for name, array in col.items()
        if not pa.types.is_list(array.type)
    }
    modifiers = pc.replace_substring(text["modifiers"], ",", "-")
    code = _join(
        text["procedure_code"],
        pc.if_else(pc.equal(modifiers, ""), _text(""), _join("-", modifiers)),
    )
    related = pc.binary_join(col["related_lines"], "; ")
    title = _join(text["rule_id"], " ", text["rule_name"], ": ", text["message"])
    body = _join(
        "line ", text["line_number"], " (row ", text["source_row"], ")  ",
        text["service_date"], "  ", code, "\n",
        text["rule_id"], " ", text["rule_name"], " (", text["severity"], ")\n",
        text["message"],
        pc.if_else(pc.equal(related, ""), _text(""), _join("\nrelated: ", related)),
        "\npolicy: ", text["policy_ref"], "\nCARC: ", text["carc"],
        "\nfingerprint: ", text["fingerprint"],
    )  # fmt: skip
    elements = _join(
        '      <failure type="', escape(text["severity"]), '" message="', escape(title), '">',
        escape(body, attribute=False), "</failure>\n",
    )  # fmt: skip
    claims = findings["claim_id"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, claims[1:] != claims[:-1]])
    offsets = np.r_[starts, len(claims)].astype(np.int32)
    grouped = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), elements), _text(""))
    return claims[starts], grouped


def _take(values: pa.Array, slot: np.ndarray) -> pa.Array:
    """values[slot], empty text where slot is -1 (or when there are no values)."""
    if not len(values):
        return pa.array(np.full(len(slot), "", dtype=object), pa.large_string())
    return values.take(pa.array(np.where(slot >= 0, slot, 0)))


def junit_xml(
    findings: pd.DataFrame, result: RunResult, summary: dict[str, Any], out: IO[str]
) -> None:
    """Write the JUnit document for a run's reported findings (sorted by claim)."""
    if result.lines is None:
        raise RunError("the JUnit output needs an in-memory run (--no-stream)")
    names = [f.path for f in result.files]
    checked = _claims(result.lines, "checked", names)
    out_of_scope = _claims(result.lines, "out_of_scope", names)
    out_of_scope = out_of_scope[~out_of_scope["claim_id"].isin(checked["claim_id"])]
    rejected = _claims(result.lines, "rejected", names)
    rejected = rejected[
        ~rejected["claim_id"].isin(checked["claim_id"])
        & ~rejected["claim_id"].isin(out_of_scope["claim_id"])
    ]
    cases = pd.concat(
        [
            checked.assign(kind="checked"),
            out_of_scope.assign(kind="skipped"),
            rejected.assign(kind="error"),
        ],
        ignore_index=True,
    ).sort_values(["file", "claim_id"], kind="stable", ignore_index=True)
    skipped = (cases["kind"] == "skipped").to_numpy()
    errors = (cases["kind"] == "error").to_numpy()
    failing_claims, failures = _failures(findings)
    slot = pd.Index(failing_claims).get_indexer(cases["claim_id"])
    failed = slot >= 0
    body = pc.if_else(
        pa.array(failed),
        _join(">\n", _take(failures, slot), "    </testcase>\n"),
        pc.if_else(
            pa.array(skipped),
            _text(f">\n{SKIPPED}    </testcase>\n"),
            pc.if_else(pa.array(errors), _text(f">\n{REJECTED}    </testcase>\n"), _text("/>\n")),
        ),
    )
    classnames = {name: _classname(name) for name in names}
    xml = _join(
        '    <testcase name="claim ', escape(pa.array(cases["claim_id"], pa.string())),
        '" classname="', escape(pa.array(cases["path"].map(classnames), pa.string())),
        '" file="', escape(pa.array(cases["path"], pa.string())),
        '" line="', pa.array(cases["row"]).cast(pa.string()), '" time="0"', body,
    )  # fmt: skip
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(
        f'<testsuites name="igrt-edits" tests="{len(cases)}" failures="{int(failed.sum())}"'
        f' errors="{int(errors.sum())}" skipped="{int(skipped.sum())}"'
        f' time="{summary["wall_seconds"]}">\n'
    )
    file_of_case = cases["file"].to_numpy()
    for index, file in enumerate(result.files):
        in_suite = file_of_case == index
        counts = {
            "failures": int((failed & in_suite).sum()),
            "errors": int((errors & in_suite).sum()),
            "skipped": int((skipped & in_suite).sum()),
        }
        _write_suite(out, file, xml.filter(pa.array(in_suite)), counts, summary)
    out.write("</testsuites>\n")


def _write_suite(
    out: IO[str], file: FileSummary, cases: pa.Array, counts: dict[str, int], summary: dict
) -> None:
    name = escape(pa.array([file.path]))[0].as_py()
    out.write(
        f'  <testsuite name="{name}" tests="{len(cases)}" failures="{counts["failures"]}"'
        f' errors="{counts["errors"]}" skipped="{counts["skipped"]}" time="0">\n'
    )
    out.write("    <properties>\n")
    properties = {
        "igrt_edits_version": summary["version"],
        "catalog_version": summary["catalog_version"],
        "edit_data_version": summary["edit_data_version"],
        **file.accounting(),
    }
    for key, value in properties.items():
        out.write(f'      <property name="{key}" value="{value}"/>\n')
    out.write("    </properties>\n")
    for start in range(0, len(cases), WRITE_CHUNK):
        out.write("".join(cases.slice(start, WRITE_CHUNK).to_pylist()))
    out.write("  </testsuite>\n")


def _classname(path: str) -> str:
    """A dotted-name-safe class name for a file (viewers split class names on dots)."""
    return path.replace("\\", "/").rsplit("/", 1)[-1].replace(".", "_")
