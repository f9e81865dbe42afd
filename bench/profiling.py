"""Sampling profiles of the running service with py-spy, and a summary of where the time went.

``--profile DIR`` records, for each scenario, one collapsed-stack file per service process
(``DIR/<scenario>-<role>.txt``: py-spy's ``raw`` format, one stack and its sample count a
line; idle stacks are left out, so the counts are CPU time). ``python -m bench.profiling
DIR/*.txt`` prints the functions with the most samples, on their own (self) and with what
they call (inclusive).
"""

from __future__ import annotations

import collections
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any


class Profiler:
    """Runs py-spy on every service process for the length of a ``with`` block."""

    def __init__(self, directory: str, service: Any, *, rate: int = 97, gil: bool = False) -> None:
        self.directory = Path(directory)
        self.gil = gil
        self.service = service
        self.rate = rate
        self.py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self._running: list[subprocess.Popen[bytes]] = []
        self._scenario = ""

    def scenario(self, name: str) -> Profiler:
        self._scenario = name
        return self

    def __enter__(self) -> Profiler:
        self.directory.mkdir(parents=True, exist_ok=True)
        roles = self.service.processes()
        for role in ("web_workers", "background_worker"):
            for index, pid in enumerate(sorted(roles[role])):
                name = f"{self._scenario}-{role}-{index}.txt"
                self._running.append(
                    subprocess.Popen(
                        [
                            self.py_spy,
                            "record",
                            "--pid",
                            str(pid),
                            "--rate",
                            str(self.rate),
                            "--format",
                            "raw",
                            "--nonblocking",
                            *(["--gil"] if self.gil else []),
                            "--output",
                            str(self.directory / name),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
        return self

    def __exit__(self, *_: object) -> None:
        for process in self._running:
            process.send_signal(signal.SIGINT)
        for process in self._running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._running = []


def _frames(stack: str) -> list[str]:
    # "a (file.py:12);b (file.py:40)": strip line numbers so a function counts once.
    frames = []
    for frame in stack.split(";"):
        name, _, where = frame.partition(" (")
        file = where.split(":", 1)[0]
        frames.append(f"{name} ({file})")
    return frames


def summarise(paths: list[str], top: int = 25) -> str:
    """The top functions by self and by inclusive samples over the given raw profiles."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for path in paths:
        for line in Path(path).read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = _frames(stack)
            total += count
            own[frames[-1]] += count
            for frame in set(frames):
                inclusive[frame] += count
    lines = [f"{total} samples in {len(paths)} files", "", "self:"]
    lines += [f"{100 * n / max(total, 1):5.1f}%  {name}" for name, n in own.most_common(top)]
    lines += ["", "inclusive:"]
    lines += [f"{100 * n / max(total, 1):5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    top = int(os.environ.get("TOP", "25"))
    print(summarise(sys.argv[1:], top))
