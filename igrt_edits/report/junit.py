"""Findings as JUnit XML: one test suite per input file, one test case per claim.

A claim with findings fails with one `<failure>` per finding (type = severity, message = rule
and message, body = the line, related lines, policy and fingerprint); a claim without findings
passes; a claim whose lines are all out of scope (members under the adult age) is skipped.
A claim whose lines span files belongs to the file of its first line. Each suite's properties
carry that file's row accounting.
"""

from __future__ import annotations

from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from igrt_edits.pipeline import RunResult

INVALID_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
ATTRIBUTE_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"))
LINE_BREAKS = (("\n", "&#10;"), ("\r", "&#13;"), ("\t", "&#9;"))


def escape(values: pd.Series, *, attribute: bool = True) -> pd.Series:
    """XML-escaped text (attribute values also keep their line breaks as references)."""
    text = values.astype(str).str.replace(INVALID_XML, "\ufffd", regex=True)
    for raw, escaped in ATTRIBUTE_ESCAPES + (LINE_BREAKS if attribute else ()):
        text = text.str.replace(raw, escaped, regex=False)
    return text


def _claims(lines: pa.Table | None, names: list[str]) -> pd.DataFrame:
    """Each claim's first file and row among `lines` (claim_id, file, row)."""
    if lines is None or lines.num_rows == 0:
        return pd.DataFrame({"claim_id": [], "file": [], "row": []})
    frame = pd.DataFrame(
        {
            "claim_id": lines.column("claim_id").to_numpy(zero_copy_only=False),
            "file": lines.column("_file").to_numpy().astype(np.int64),
            "row": lines.column("_row").to_numpy().astype(np.int64),
        }
    )
    first = frame.sort_values(["claim_id", "file", "row"], kind="stable")
    first = first.drop_duplicates("claim_id").reset_index(drop=True)
    first["path"] = np.asarray(names, dtype=object)[first["file"].to_numpy()]
    return first


def _failures(findings: pd.DataFrame) -> pd.Series:
    """Per claim id, its <failure> elements (one per finding, in findings order)."""
    if findings.empty:
        return pd.Series(dtype=object)
    modifiers = findings["modifiers"].str.replace(",", "-", regex=False)
    code = findings["procedure_code"] + np.where(modifiers != "", "-" + modifiers, "")
    related = findings["related_lines"].str.join("; ").fillna("")
    title = findings["rule_id"] + " " + findings["rule_name"] + ": " + findings["message"]
    body = (
        "line "
        + findings["line_number"].astype(str)
        + " (row "
        + findings["source_row"].astype(str)
        + ")  "
        + findings["service_date"]
        + "  "
        + code
        + "\n"
        + findings["rule_id"]
        + " "
        + findings["rule_name"]
        + " ("
        + findings["severity"]
        + ")\n"
        + findings["message"]
        + np.where(related != "", "\nrelated: " + related, "")
        + "\npolicy: "
        + findings["policy_ref"]
        + "\nCARC: "
        + findings["carc"]
        + "\nfingerprint: "
        + findings["fingerprint"]
    )
    elements = (
        '      <failure type="'
        + escape(findings["severity"])
        + '" message="'
        + escape(title)
        + '">'
        + escape(body, attribute=False)
        + "</failure>\n"
    )
    return elements.groupby(findings["claim_id"].to_numpy(), sort=False).agg("".join)


def junit_xml(
    findings: pd.DataFrame, result: RunResult, summary: dict[str, Any], out: IO[str]
) -> None:
    """Write the JUnit document for a run's reported findings."""
    names = [f.path for f in result.files]
    checked = _claims(result.lines, names)
    out_of_scope = _claims(result.out_of_scope, names)
    out_of_scope = out_of_scope[~out_of_scope["claim_id"].isin(checked["claim_id"])]
    failures = _failures(findings)
    cases = pd.concat(
        [checked.assign(skipped=False), out_of_scope.assign(skipped=True)], ignore_index=True
    ).sort_values(["file", "claim_id"], kind="stable")
    failed = cases["claim_id"].map(failures)
    cases["failed"] = failed.notna().to_numpy()
    head = (
        '    <testcase name="claim '
        + escape(cases["claim_id"])
        + '" classname="'
        + escape(cases["path"].map({name: _classname(name) for name in names}))
        + '" file="'
        + escape(cases["path"])
        + '" line="'
        + cases["row"].astype(str)
        + '" time="0"'
    )
    body = np.where(
        cases["failed"],
        ">\n" + failed.fillna("") + "    </testcase>\n",
        np.where(
            cases["skipped"],
            '>\n      <skipped message="every line is out of scope (member under the adult'
            ' age)"/>\n    </testcase>\n',
            "/>\n",
        ),
    )
    cases["xml"] = head + body
    total_failed = int(cases["failed"].sum())
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(
        f'<testsuites name="igrt-edits" tests="{len(cases)}" failures="{total_failed}"'
        f' errors="0" skipped="{int(cases["skipped"].sum())}"'
        f' time="{summary["wall_seconds"]}">\n'
    )
    for index, file in enumerate(result.files):
        suite = cases[cases["file"].to_numpy() == index]
        _write_suite(out, file, suite, summary)
    out.write("</testsuites>\n")


def _write_suite(out: IO[str], file: Any, suite: pd.DataFrame, summary: dict[str, Any]) -> None:
    name = escape(pd.Series([file.path])).iloc[0]
    out.write(
        f'  <testsuite name="{name}" tests="{len(suite)}" failures="{int(suite["failed"].sum())}"'
        f' errors="0" skipped="{int(suite["skipped"].sum())}" time="0">\n'
    )
    out.write("    <properties>\n")
    properties = {
        "igrt_edits_version": summary["version"],
        "edit_data_version": summary["edit_data_version"],
        **file.accounting(),
    }
    for key, value in properties.items():
        out.write(f'      <property name="{key}" value="{value}"/>\n')
    out.write("    </properties>\n")
    out.write("".join(suite["xml"].tolist()))
    out.write("  </testsuite>\n")


def _classname(path: str) -> str:
    """A dotted-name-safe class name for a file (viewers split class names on dots)."""
    return path.replace("\\", "/").rsplit("/", 1)[-1].replace(".", "_")
