"""`igrt-edits bench`: what linting costs next to just reading the same file.

Each command runs as a whole process (startup and imports included), several times, with the
read floor and the check interleaved so a ratio holds on a noisy machine. Wall time comes from
the clock around the process; CPU time (user + system) and peak memory from the kernel's
accounting of that process. CPU time is the steadier figure when other work shares the machine.

Each size and format is timed on a clean extract (the generator's default: a few violations,
about 0.5% of lines flagged) and a dirty one (every rule's violation at its highest rate and
systematic miscoding: about a third of the lines flagged, most by IGRT002), side by side.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SIZES = {
    "1k": 1_000,
    "10k": 10_000,
    "100k": 100_000,
    "1m": 1_000_000,
    "10m": 10_000_000,
    "100m": 100_000_000,
}
FLOOR = {
    "parquet": "import sys, pyarrow.parquet as pq; pq.read_table(sys.argv[1])",
    "csv": "import sys, pyarrow.csv as pc; pc.read_csv(sys.argv[1])",
    # An 837 has no third-party reader fast enough to be a floor: the floor is igrt-edits'
    # own X12 reader (segments to claim lines), so its row shows the reader's claims/s.
    "x12": (
        "import sys; from pathlib import Path;"
        " from igrt_edits.ingest.readers import plan_read, iter_extracts;"
        " sum(e.table.num_rows for e in iter_extracts(plan_read(Path(sys.argv[1])), 10**6))"
    ),
}


EXTRACTS = {
    "clean": ("--violation-rate", "0.02"),
    "dirty": ("--violation-rate", "0.07", "--miscoding", "0.9"),
}
"""`generate` options of each kind of extract: the dirty one has every rule's violation at the
highest rate (MAX_VIOLATION_RATE) and about a third of its lines flagged."""


@dataclass
class Measure:
    """Runs of one command: wall seconds and peak RSS (MB) of each."""

    label: str
    walls: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    """CPU seconds (user + system) of each run: steadier than wall time on a shared machine."""

    def add(self, command: Sequence[str]) -> None:
        wall, peak, cpu = run_once(command)
        self.walls.append(wall)
        self.peaks.append(peak)
        self.cpus.append(cpu)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def peak(self) -> float:
        return statistics.median(self.peaks)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)


def run_once(command: Sequence[str]) -> tuple[float, float, float]:
    """Wall seconds, peak resident memory (MB) and CPU seconds of one whole-process run."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {error[-500:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # maxrss in kB


def dataset(directory: Path, size: str, fmt: str, seed: int, echo, extract: str = "clean") -> Path:
    """The generated extract for a size, format and kind (EXTRACTS), made once and reused.

    It is made by a process of its own: the kernel's peak memory of a process started later
    counts its parent's memory at the fork, so this process must stay small.
    """
    kind = "" if extract == "clean" else f"-{extract}"
    path = directory / f"claims-{size}-seed{seed}{kind}.{fmt}"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        echo(f"generating {path} ...")
        command = [sys.executable, "-m", "igrt_edits", "generate", "--lines", str(SIZES[size])]
        command += ["--seed", str(seed), "--out", str(path), *EXTRACTS[extract]]
        subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
    return path


STARTUP = "import igrt_edits.ingest.readers, igrt_edits.ingest.x12_lines"
"""What an X12 floor run spends before reading (subtracted for the reader's claims/s)."""


def _reader_lines(path: Path, count: int, floor: Measure, startup: Measure) -> list[str]:
    """The X12 reader's claims/s: floor runs less startup, by wall and by CPU time."""
    claims = count_claims(path)
    out = []
    for kind, runs, starts in (
        ("wall", floor.walls, startup.walls),
        ("cpu", floor.cpus, startup.cpus),
    ):
        reading = [max(f - s, 1e-9) for f, s in zip(runs, starts, strict=True)]
        middle = statistics.median(reading)
        out.append(
            f"{'':>5} {'':8} X12 reader, {kind}: {claims:,} claims in {middle:.2f} s after"
            f" {statistics.median(starts):.2f} s of startup: {claims / middle:,.0f} claims/s"
            f" ({claims / max(reading):,.0f}-{claims / min(reading):,.0f}),"
            f" {count / middle:,.0f} lines/s"
        )
    return out


def count_claims(path: Path) -> int:
    """CLM segments in an 837 file (the generator writes one per line of the file)."""
    count = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 24):
            count += block.count(b"\nCLM*")
    return count


def check_command(path: Path, output: Path, stream: bool) -> list[str]:
    """Check `path`, findings to `output` (Parquet), the run summary beside it."""
    mode = "--stream" if stream else "--no-stream"
    return [
        sys.executable,
        "-m",
        "igrt_edits",
        "check",
        str(path),
        mode,
        "--format",
        "parquet",
        "--output",
        str(output),
        "--summary",
        str(output.with_suffix(".json")),
    ]


def bench(
    sizes: Sequence[str],
    formats: Sequence[str],
    runs: int,
    directory: Path,
    seed: int,
    stream: bool,
    echo,
    extracts: Sequence[str] = tuple(EXTRACTS),
) -> list[str]:
    """Run the benchmark and return the report lines."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="igrt-edits-bench-") as scratch:
        output = Path(scratch) / "findings.parquet"
        for size in sizes:
            for fmt in formats:
                for extract in extracts:
                    rows.append(
                        _measure(directory, size, fmt, extract, seed, runs, output, stream, echo)
                    )
    return report(rows, runs)


@dataclass
class Row:
    """The measures of one extract."""

    size: str
    fmt: str
    extract: str
    path: Path
    floor: Measure
    check: Measure
    streamed: Measure | None
    startup: Measure | None
    findings: int
    flagged: int
    """Findings and distinct lines flagged (from the run summary)."""


def _measure(
    directory: Path,
    size: str,
    fmt: str,
    extract: str,
    seed: int,
    runs: int,
    output: Path,
    stream: bool,
    echo,
) -> Row:
    """The floor, the check (and --stream) of one extract, `runs` times each, interleaved."""
    path = dataset(directory, size, fmt, seed, echo, extract)
    row = Row(size, fmt, extract, path, Measure("read (floor)"), Measure("igrt-edits check"),
              Measure("igrt-edits check --stream") if stream else None,
              Measure("startup") if fmt == "x12" else None, 0, 0)  # fmt: skip
    for run in range(runs):
        echo(f"{size} {fmt} {extract}: run {run + 1} of {runs}")
        row.floor.add([sys.executable, "-c", FLOOR[fmt], str(path)])
        if row.startup is not None:
            row.startup.add([sys.executable, "-c", STARTUP])
        row.check.add(check_command(path, output, stream=False))
        summary = json.loads(output.with_suffix(".json").read_text())
        row.findings, row.flagged = summary["findings"], summary["lines_flagged"]
        if row.streamed is not None:
            row.streamed.add(check_command(path, output, stream=True))
    return row


def _ratio(top: list[float], bottom: list[float]) -> float:
    """Median of the run-by-run ratios (runs interleaved, so each pair shares the load)."""
    return statistics.median(t / b for t, b in zip(top, bottom, strict=True))


def report(rows: list[Row], runs: int) -> list[str]:
    """Ratios first (check against the read floor, per extract), then the figures."""
    lines = [
        f"igrt-edits bench: {runs} runs each, medians (min-max); Python {sys.version.split()[0]},"
        f" {os.cpu_count()} CPUs",
        "",
        "ratios, check / read floor (median of interleaved runs), and the lines flagged:",
        f"{'size':>5} {'input':8} {'extract':8} {'wall':>7} {'CPU':>7} {'peak RSS':>9}"
        f" {'flagged':>8}",
    ]
    for row in rows:
        check, floor = row.check, row.floor
        lines.append(
            f"{row.size:>5} {row.fmt:8} {row.extract:8}"
            f" {_ratio(check.walls, floor.walls):>6.2f}x {_ratio(check.cpus, floor.cpus):>6.2f}x"
            f" {check.peak / floor.peak:>8.2f}x {row.flagged / SIZES[row.size]:>8.1%}"
        )
        if row.streamed is not None:
            lines.append(
                f"{'':>5} {'':8} {'':8} stream / in-memory check: wall"
                f" {_ratio(row.streamed.walls, check.walls):.2f}x,"
                f" peak RSS {row.streamed.peak / check.peak:.2f}x"
            )
    lines += [
        "",
        f"{'size':>5} {'input':8} {'extract':8} {'command':28} {'wall s':>20} {'CPU s':>7}"
        f" {'peak RSS MB':>18} {'lines/s':>11} {'findings/s':>11}",
    ]
    for row in rows:
        count = SIZES[row.size]
        for measure in (row.floor, row.check, row.streamed):
            if measure is None:
                continue
            wall = f"{measure.wall:.2f} ({min(measure.walls):.2f}-{max(measure.walls):.2f})"
            peak = f"{measure.peak:.0f} ({min(measure.peaks):.0f}-{max(measure.peaks):.0f})"
            found = "" if measure is row.floor else f"{row.findings / measure.wall:,.0f}"
            lines.append(
                f"{row.size:>5} {row.fmt:8} {row.extract:8} {measure.label:28} {wall:>20}"
                f" {measure.cpu:>7.2f} {peak:>18} {count / measure.wall:>11,.0f} {found:>11}"
            )
        if row.startup is not None:
            lines.extend(_reader_lines(row.path, count, row.floor, row.startup))
        lines.append(
            f"{'':>5} {'':8} {'':8} {row.findings:,} findings on {row.flagged:,} lines;"
            f" {row.path.name}, {row.path.stat().st_size / 1e6:,.0f} MB"
        )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines.append(f"(peak RSS figures include this process's {own:.0f} MB at each start)")
    return lines
