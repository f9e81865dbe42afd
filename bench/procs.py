"""What the machine and its processes are doing, read from ``/proc`` (Linux only).

Nothing here imports the notary: CPU seconds, resident memory and process trees.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    ppid: int
    command: str


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name is in parentheses and may itself hold spaces or parentheses.
    return text[text.rindex(")") + 2 :].split()


def info(pid: int) -> ProcessInfo | None:
    try:
        fields = _stat_fields(pid)
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError):
        return None
    return ProcessInfo(pid, int(fields[1]), command.strip())


def descendants(root: int) -> list[ProcessInfo]:
    """Every living process below ``root`` (not ``root`` itself)."""
    children: dict[int, list[ProcessInfo]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            process = info(int(entry.name))
            if process is not None:
                children.setdefault(process.ppid, []).append(process)
    found: list[ProcessInfo] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child.pid)
    return found


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process so far (0 when it is gone)."""
    try:
        fields = _stat_fields(pid)
    except (OSError, ValueError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MiB (0 when it is gone)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * _PAGE / (1024 * 1024)


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent not idle (all cores), from ``/proc/stat``."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / _TICKS


def fsync_ms(directory: str, writes: int = 50) -> float:
    """Median milliseconds to write 4 KiB and fsync it, in ``directory``: the floor under every
    durable commit (SQLite's WAL with ``synchronous=FULL``, PostgreSQL's WAL flush)."""
    import statistics
    import tempfile
    import time

    times = []
    with tempfile.NamedTemporaryFile(dir=directory, prefix="fsync-") as handle:
        for _ in range(writes):
            started = time.perf_counter()
            os.write(handle.fileno(), b"\0" * 4096)
            os.fsync(handle.fileno())
            times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 3)


def calibration_ms(runs: int = 5) -> float:
    """Median CPU milliseconds of a fixed pure-Python workload (2 million loop steps).

    On a shared machine the same work costs more CPU time when a neighbour runs on the
    sibling hyperthread; dividing CPU-per-unit figures by this makes runs comparable.
    """
    import statistics
    import time

    times = []
    for _ in range(runs):
        started = time.process_time()
        total = 0
        for step in range(2_000_000):
            total += step
        times.append(time.process_time() - started)
    return round(statistics.median(times) * 1000, 1)
