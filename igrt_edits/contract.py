"""The data contract in code: what igrt-edits reads, what it writes and how it exits.

One place for the canonical input columns, the fields of a checked line, the findings' fields,
order and Arrow schema, the rejects' fields, the row accounting, the severities and the exit
statuses (see the project's data-contract.md). Every other module derives its lists from these.
"""

from __future__ import annotations

import pyarrow as pa

# --- input -------------------------------------------------------------------------------------

INPUT_COLUMNS = (
    "claim_id",
    "line_number",
    "patient_id",
    "service_date",
    "procedure_code",
    "modifiers",
    "units",
    "diagnosis_codes",
    "claim_type",
    "place_of_service",
    "bill_type",
    "setting",
    "payer",
    "line_of_business",
    "patient_birth_date",
    "patient_age",
    "beam_modality",
    "treatment_indicators",
    "provider_id",
    "charge_amount",
)
"""The canonical input columns, in the contract's order."""
REQUIRED_COLUMNS = ("claim_id", "line_number", "patient_id", "service_date", "procedure_code")
FAMILY_COLUMNS = ("modifiers", "diagnosis_codes")
"""Columns that may also come as a family of numbered columns (modifier_1.., dx_1..)."""

# --- a checked line ----------------------------------------------------------------------------

SETTINGS = ("OPPS", "MPFS", "OTHER")
SCHEMES = ("cpt", "gcode")
COMPONENTS = ("PC", "TC", "global")
CLAIM_TYPES = ("professional", "institutional")
BILLING_SIDES = ("professional", "technical", "both")
"""Billing side: `both` is a global line of a claim that is not institutional (it bills the
professional and the technical part)."""
LINE_SCHEMA = pa.schema(
    [
        ("claim_id", pa.string()),
        ("line_number", pa.int64()),
        ("patient_id", pa.string()),
        ("service_date", pa.date32()),
        ("procedure_code", pa.string()),
        ("modifiers", pa.string()),
        ("units", pa.float64()),
        ("diagnosis_codes", pa.string()),
        ("claim_type", pa.string()),
        ("bill_type", pa.string()),
        ("place_of_service", pa.string()),
        ("setting", pa.string()),
        ("scheme", pa.string()),
        ("component", pa.string()),
        ("billing_side", pa.string()),
        ("payer", pa.string()),
        ("line_of_business", pa.string()),
        ("beam_modality", pa.string()),
        ("treatment_indicators", pa.string()),
        ("age", pa.float32()),
        ("provider_id", pa.string()),
        ("charge_amount", pa.float64()),
    ]
)
"""A line as checked: the input's fields normalized (the age on the service date in place of
birth date and age), with the derived setting (one of SETTINGS), coding scheme (SCHEMES),
component (COMPONENTS) and billing side (BILLING_SIDES); the order of outputs that echo lines."""

# --- outputs -----------------------------------------------------------------------------------

FINDINGS_SCHEMA = pa.schema(
    [
        ("claim_id", pa.string()),
        ("line_number", pa.int64()),
        ("patient_id", pa.string()),
        ("service_date", pa.string()),
        ("procedure_code", pa.string()),
        ("modifiers", pa.string()),
        ("rule_id", pa.string()),
        ("rule_name", pa.string()),
        ("severity", pa.string()),
        ("message", pa.string()),
        ("related_lines", pa.list_(pa.string())),
        ("policy_ref", pa.string()),
        ("carc", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("fingerprint", pa.string()),
    ]
)
"""One finding per flagged line per rule, in the field order of every format (service dates
as `YYYY-MM-DD` text; files with column types hold them as dates, see FINDINGS_FILE_SCHEMA)."""
FINDING_FIELDS: tuple[str, ...] = tuple(FINDINGS_SCHEMA.names)
FINDINGS_FILE_SCHEMA = FINDINGS_SCHEMA.set(
    FINDINGS_SCHEMA.get_field_index("service_date"), pa.field("service_date", pa.date32())
)
"""The findings in Parquet and CSV files: service dates as dates."""
FINDINGS_ORDER = ("claim_id", "line_number", "rule_id")
"""Every format lists findings ordered by these fields."""
LINE_DETAIL_FIELDS = ("provider_id", "charge_amount")
"""The flagged line's provider and charge: fields a run adds after the findings' own when asked
for line details (the analyst reports show them; other outputs do not)."""
LINE_DETAIL_SCHEMA = pa.schema([LINE_SCHEMA.field(name) for name in LINE_DETAIL_FIELDS])

REJECT_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("claim_id", pa.string()),
        ("line_number", pa.string()),
        ("column", pa.string()),
        ("reason", pa.string()),
    ]
)
"""A rejected row: where it is, the claim and line as read, the first failing column, why."""
REJECTS_ORDER = ("source_file", "source_row")

ROW_ACCOUNTING = ("rows_read", "rows_checked", "rows_rejected", "rows_out_of_scope")
"""Where every input row went: read = checked + rejected + out of scope (per file, in total)."""

# --- severities and exit statuses ------------------------------------------------------------

SEVERITIES = ("error", "warning", "info")
"""Rule severities, the most severe first."""
SEVERITY_RANK = {severity: rank for rank, severity in enumerate(reversed(SEVERITIES))}
"""info 0, warning 1, error 2: a finding at or above `--fail-on` fails the run."""
FAIL_ON = (*SEVERITIES, "never")

EXIT_OK = 0
"""No reported finding at or above the failure threshold."""
EXIT_FINDINGS = 1
"""At least one reported finding at or above the failure threshold."""
EXIT_RUN_ERROR = 2
"""The run could not be done (usage, configuration, input); nothing was written."""
EXIT_INTERRUPTED = 130
"""Stopped by Ctrl-C (the shell's 128 + SIGINT); nothing was written."""
