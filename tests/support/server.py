"""A real notary service in subprocesses (gunicorn and a worker), for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

#: Seconds a service may take to answer its health check after ``notary serve`` starts.
START_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def notary(args: list[str], env: dict[str, str]) -> str:
    """Run a ``notary`` command and return its output (raises on failure)."""
    result = subprocess.run(
        [sys.executable, "-m", "notary.cli", *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"notary {' '.join(args)} failed: {result.stderr}")
    return result.stdout


class Service:
    """``notary serve`` on a free port with its own instance; stopped on exit."""

    def __init__(self, instance: Path, extra_env: dict[str, str] | None = None, workers: int = 2) -> None:
        self.port = free_port()
        self.env = {**os.environ, "NOTARY_INSTANCE_PATH": str(instance), **(extra_env or {})}
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Service:
        notary(["init"], self.env)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "notary.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env=self.env,
            start_new_session=True,
        )
        # Generous: eight engineers share two cores, and a loaded machine once took over 30 s to
        # start gunicorn. A process that exits fails at once instead of waiting out the deadline.
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited at start (status {self.process.returncode})")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=5) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"the service did not come up in {START_TIMEOUT} s")

    def add_platform(self, name: str = "Example Lending") -> dict[str, str]:
        return json.loads(notary(["platform", "add", name, "--json"], self.env))

    def __exit__(self, *_: object) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
