"""`igrt-edits bench`: what linting costs next to just reading the same file.

Each command runs as a whole process (startup and imports included), several times, with the
read floor and the check interleaved so a ratio holds on a noisy machine. Wall time comes from
the clock around the process; peak memory from the kernel's accounting of that process.
"""

from __future__ import annotations

import os
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


def dataset(directory: Path, size: str, fmt: str, seed: int, echo) -> Path:
    """The generated extract for a size and format, made once and reused."""
    from igrt_edits.synth.generate import write_extract

    path = directory / f"claims-{size}-seed{seed}.{fmt}"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        echo(f"generating {path} ...")
        write_extract(path, SIZES[size], seed)
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
    mode = "--stream" if stream else "--no-stream"
    return [
        sys.executable,
        "-m",
        "igrt_edits",
        "check",
        str(path),
        mode,
        "--format",
        "json",
        "--output",
        str(output),
    ]


def bench(
    sizes: Sequence[str],
    formats: Sequence[str],
    runs: int,
    directory: Path,
    seed: int,
    stream: bool,
    echo,
) -> list[str]:
    """Run the benchmark and return the report lines."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="igrt-edits-bench-") as scratch:
        output = Path(scratch) / "findings.parquet"
        for size in sizes:
            for fmt in formats:
                path = dataset(directory, size, fmt, seed, echo)
                floor = Measure("read (floor)")
                startup = Measure("startup") if fmt == "x12" else None
                check = Measure("igrt-edits check")
                streamed = Measure("igrt-edits check --stream") if stream else None
                for run in range(runs):
                    echo(f"{size} {fmt}: run {run + 1} of {runs}")
                    floor.add([sys.executable, "-c", FLOOR[fmt], str(path)])
                    if startup is not None:
                        startup.add([sys.executable, "-c", STARTUP])
                    check.add(check_command(path, output, stream=False))
                    if streamed is not None:
                        streamed.add(check_command(path, output, stream=True))
                rows.append((size, fmt, path, floor, check, streamed, startup))
    return report(rows, runs)


def report(rows, runs: int) -> list[str]:
    lines = [
        f"igrt-edits bench: {runs} runs each, medians (min-max); Python {sys.version.split()[0]},"
        f" {os.cpu_count()} CPUs",
        "",
        f"{'size':>5} {'input':8} {'command':28} {'wall s':>22} {'peak RSS MB':>22}"
        f" {'lines/s':>11}",
    ]
    for size, fmt, path, floor, check, streamed, startup in rows:
        count = SIZES[size]
        for measure in (floor, check, streamed):
            if measure is None:
                continue
            wall = f"{measure.wall:.2f} ({min(measure.walls):.2f}-{max(measure.walls):.2f})"
            peak = f"{measure.peak:.0f} ({min(measure.peaks):.0f}-{max(measure.peaks):.0f})"
            lines.append(
                f"{size:>5} {fmt:8} {measure.label:28} {wall:>22} {peak:>22}"
                f" {count / measure.wall:>11,.0f}"
            )
        if startup is not None:
            lines.extend(_reader_lines(path, count, floor, startup))
        ratio = statistics.median(c / f for c, f in zip(check.walls, floor.walls, strict=True))
        lines.append(
            f"{'':>5} {'':8} ratio check/floor: wall {ratio:.2f}x,"
            f" peak RSS {check.peak / floor.peak:.2f}x  ({path.name},"
            f" {path.stat().st_size / 1e6:,.0f} MB)"
        )
        if streamed is not None:
            ratio = statistics.median(
                s / c for s, c in zip(streamed.walls, check.walls, strict=True)
            )
            lines.append(f"{'':>5} {'':8} ratio stream/in-memory check: wall {ratio:.2f}x")
    return lines
