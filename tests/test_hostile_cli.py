"""The command under hostile conditions: what its log lines may say, and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from igrt_edits.cli import main

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "corpus"
# Inputs whose rows carry member ids, claim ids, diagnosis codes and bad values, and whose runs
# reject rows and skip files: everything a log line could leak. (Read together, their claims
# repeat across files, so most rows are rejected as duplicates.)
NOISY = ["latin1_read_columns.csv", "bad_dates.csv", "duplicate_claim_line.csv", "mixed_dir"]
IDENTIFIERS = ["M1001", "M1002", "H1001", "H1002", "C61", "Z85.3", "2019-02-30", "9999-12-31"]


def check(tmp_path: Path, monkeypatch, *args: str):
    monkeypatch.chdir(CORPUS)
    out = tmp_path / "findings.json"
    return CliRunner().invoke(main, ["check", *NOISY, "-o", str(out), *args])


def test_log_lines_carry_no_identifiers_unless_verbose(tmp_path: Path, monkeypatch) -> None:
    quiet = check(tmp_path, monkeypatch)
    assert quiet.exit_code in (0, 1), quiet.stderr
    assert quiet.stderr.splitlines() == [
        "igrt-edits: skipped 2 file(s) that are not CSV or Parquet:"
        " mixed_dir/notes.md, mixed_dir/summary.xlsx",
        "igrt-edits: 20 row(s) rejected (--rejects FILE lists them with reasons)",
    ]
    assert not [word for word in IDENTIFIERS if word in quiet.stderr]


def test_verbose_logs_progress_and_each_rejected_row(tmp_path: Path, monkeypatch) -> None:
    verbose = check(tmp_path, monkeypatch, "--verbose")
    lines = verbose.stderr.splitlines()
    assert lines[0] == "igrt-edits: checking " + ", ".join(NOISY)
    assert "igrt-edits: bad_dates.csv: 9 rows read, 2 checked, 7 rejected, 0 out of scope" in lines
    assert (
        "igrt-edits: rejected bad_dates.csv row 3 (claim H1001 line 2):"
        " service_date '2019-02-30' is not a real calendar date"
    ) in lines
    assert sum(line.startswith("igrt-edits: rejected ") for line in lines) == 20


def test_errors_stay_one_line_when_verbose(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(CORPUS)
    result = CliRunner().invoke(main, ["check", "empty.csv", "--verbose"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "igrt-edits: checking empty.csv",
        "igrt-edits: error: empty.csv: the file is empty (0 bytes); expected a CSV or Parquet"
        " extract",
    ]


def test_interrupt_exits_130_in_process(tmp_path: Path, monkeypatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("igrt_edits.cli.run_check", interrupted)
    result = CliRunner().invoke(main, ["check", str(CORPUS / "good.csv")])
    assert result.exit_code == 130
    assert result.stderr == "igrt-edits: interrupted\n"


# Run the command in a child process whose JSON writer stops half-way (its temporary output
# file already holds a partial document) until the test interrupts it with SIGINT.
STALLED_WRITER = textwrap.dedent(
    """
    import sys, time
    import igrt_edits.report.jsonout as jsonout

    def stalled(out, findings, summary):
        out.write('{"summary": ')
        out.flush()
        print("writing", file=sys.stderr, flush=True)
        time.sleep(120)

    jsonout.write_json = stalled
    from igrt_edits.cli import main
    sys.argv = ["igrt-edits", *sys.argv[1:]]
    main()
    """
)


def _start_stalled(script: str, tmp_path: Path, *options: str):
    """`check` on the good extract run by `script`, which stalls; (child, output dir, TMPDIR)."""
    out_dir, temp_dir = tmp_path / "out", tmp_path / "tmp"
    out_dir.mkdir()
    temp_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(temp_dir)}
    command = [sys.executable, "-c", script, "check", str(CORPUS / "good.csv"), *options]
    command += ["-o", str(out_dir / "findings.json")]
    child = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    return child, out_dir, temp_dir


def _assert_interrupted_cleanly(child, status: int, out_dir: Path, temp_dir: Path) -> None:
    assert status == 130
    assert child.stderr.read() == "igrt-edits: interrupted\n"
    assert list(out_dir.iterdir()) == []
    assert list(temp_dir.iterdir()) == []


def test_ctrl_c_exits_130_and_removes_temporary_files(tmp_path: Path) -> None:
    child, out_dir, temp_dir = _start_stalled(STALLED_WRITER, tmp_path)
    try:
        assert child.stderr.readline() == "writing\n"
        (partial,) = out_dir.iterdir()  # the atomic writer's temporary file
        assert partial.name.startswith(".findings.json.")
        child.send_signal(signal.SIGINT)
        status = child.wait(timeout=60)
    finally:
        child.kill()
    _assert_interrupted_cleanly(child, status, out_dir, temp_dir)


# The same, interrupted while streaming: the partitions spilled to the temporary directory
# are there when the signal comes and gone after.
STALLED_PARTITION = textwrap.dedent(
    """
    import sys, time
    import igrt_edits.run.stream as stream

    def stalled(*args, **kwargs):
        print("checking", file=sys.stderr, flush=True)
        time.sleep(120)

    stream.check_lines = stalled
    from igrt_edits.cli import main
    sys.argv = ["igrt-edits", *sys.argv[1:]]
    main()
    """
)


def test_ctrl_c_while_streaming_removes_the_partitions(tmp_path: Path) -> None:
    child, out_dir, temp_dir = _start_stalled(STALLED_PARTITION, tmp_path, "--stream")
    try:
        assert child.stderr.readline() == "checking\n"
        assert [p for p in temp_dir.rglob("*") if p.is_file()]  # the spilled partitions
        child.send_signal(signal.SIGINT)
        status = child.wait(timeout=60)
    finally:
        child.kill()
    _assert_interrupted_cleanly(child, status, out_dir, temp_dir)
