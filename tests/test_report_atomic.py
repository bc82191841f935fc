"""Atomic writes: an interrupted write leaves the old file (or none), never a partial one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from igrt_edits.report import outputs
from igrt_edits.report.atomic import atomic_path, atomic_text
from tests.report_helpers import REPO, SMALL_ROWS, run_cli, write_extract

# Writes half of a large output through atomic_text, says so, then waits to be killed.
WRITER = textwrap.dedent(
    """
    import sys, time
    from igrt_edits.report.atomic import atomic_text, sigterm_as_exit
    with sigterm_as_exit(), atomic_text(sys.argv[1]) as out:
        out.write("new line\\n" * 500_000)
        out.flush()
        print("writing", flush=True)
        time.sleep(60)
        out.write("end\\n")
    """
)


def _temporaries(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.name.endswith(".tmp")]


def _start_writer(target: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "writing"
    return process


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_killed_mid_write_leaves_the_old_file(tmp_path, signum):
    target = tmp_path / "findings.csv"
    target.write_text("old content\n", encoding="utf-8")
    process = _start_writer(target)
    temporaries = _temporaries(tmp_path)
    assert len(temporaries) == 1 and temporaries[0].stat().st_size > 1_000_000
    process.send_signal(signum)
    process.wait(timeout=30)
    assert target.read_text(encoding="utf-8") == "old content\n"
    if signum != signal.SIGKILL:  # a catchable signal also removes the temporary file
        assert _temporaries(tmp_path) == []


def test_killed_mid_write_leaves_no_file_when_there_was_none(tmp_path):
    target = tmp_path / "findings.csv"
    process = _start_writer(target)
    process.kill()
    process.wait(timeout=30)
    assert not target.exists()


def test_an_error_inside_the_writer_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_text(target) as out:
        out.write("partial")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert _temporaries(tmp_path) == []
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "new.parquet") as temp:
        temp.write_bytes(b"PAR1")
        raise RuntimeError("interrupted")
    assert not (tmp_path / "new.parquet").exists()


def test_a_failing_reporter_leaves_every_output_as_it_was(tmp_path, monkeypatch):
    """An exception while writing the annotated file: findings written before it are whole,
    the annotated target keeps its old content."""
    source = write_extract(tmp_path / "claims.csv", SMALL_ROWS)
    annotated = tmp_path / "lines.parquet"
    annotated.write_bytes(b"old parquet")

    def broken(*args, **kwargs):
        raise RuntimeError("writer failed")

    monkeypatch.setattr(outputs.tabular, "write_table", broken)
    with pytest.raises(RuntimeError):
        run_cli([str(source), "-o", str(tmp_path / "f.json"), "--annotated", str(annotated)])
    assert annotated.read_bytes() == b"old parquet"
    assert _temporaries(tmp_path) == []


def test_new_files_get_normal_permissions(tmp_path):
    """The temporary file is private while written; the result is readable like any file."""
    umask = os.umask(0o022)
    try:
        with atomic_text(tmp_path / "out.txt") as out:
            out.write("x")
    finally:
        os.umask(umask)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o644


def test_cli_terminated_mid_run_leaves_old_outputs(tmp_path):
    """The real command, stopped with SIGTERM while it writes, replaces nothing.

    SARIF for 100k findings takes seconds to write, a wide window for the signal to land in.
    On a busy machine the signal can still land after the output is in place; such an attempt
    must have written the whole new file, and the test tries again until one lands mid-write.
    """
    rows = [f"C{i},1,P{i},1960-05-01,2025-03-03,77014," for i in range(100_000)]
    source = write_extract(tmp_path / "big.csv", rows)
    output = tmp_path / "findings.sarif"
    landed = False
    for _attempt in range(5):
        output.write_text("old\n", encoding="utf-8")
        status, stderr = _terminate_while_writing(source, output, tmp_path)
        assert status in (1, 128 + signal.SIGTERM), stderr  # findings, or stopped by the signal
        assert _temporaries(tmp_path) == []
        text = output.read_text(encoding="utf-8")
        if text == "old\n":
            assert status == 128 + signal.SIGTERM, stderr
            landed = True
            break
        assert json.loads(text)["version"] == "2.1.0"  # replaced whole, never partly
    assert landed, "SIGTERM never landed while the output was being written"


def _terminate_while_writing(source: Path, output: Path, directory: Path) -> tuple[int, str]:
    """Run `check` and send SIGTERM once its temporary output appears: (exit status, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "igrt_edits", "check", str(source), "-o", str(output), "-q"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not _temporaries(directory) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr
