"""Throwaway notary instances and the service run on them exactly as in production.

An :class:`Instance` is a temporary instance folder (and, on PostgreSQL, a database of its
own) made with ``notary init``; :class:`Service` runs ``notary serve`` on it: gunicorn with
its web workers, and the background worker beside it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import procs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: The service's rate limits stay on (counting every request costs what it costs in production)
#: but far above what two cores can send: the defaults (filing 1,200 a minute per token) would
#: refuse the lifecycle's filings after 20 s at 60 a second. A variable of the calling shell or
#: of a scenario wins.
RATE_LIMITS = {
    f"NOTARY_RATE_LIMIT_{rule}": "1000000/minute" for rule in ("FILING", "SIGNATURES", "ENROLMENT", "DEFAULT")
}


@dataclass
class Instance:
    """An instance folder (keys, blobs, SQLite) and its database URL (empty: SQLite inside)."""

    path: Path
    database_url: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, name: str, database_url: str = "", **extra_env: str) -> Instance:
        path = Path(tempfile.mkdtemp(prefix=f"notary-bench-{name}-"))
        instance = cls(path / "instance", database_url, dict(extra_env))
        instance.notary("init")
        return instance

    @property
    def env(self) -> dict[str, str]:
        env = {**RATE_LIMITS, **os.environ, "NOTARY_INSTANCE_PATH": str(self.path), **self.extra_env}
        if self.database_url:
            env["NOTARY_DATABASE_URL"] = self.database_url
        else:
            env.pop("NOTARY_DATABASE_URL", None)
        return env

    def notary(self, *args: str) -> str:
        """Run a ``notary`` command on this instance; returns its output (raises on failure)."""
        result = subprocess.run(
            [sys.executable, "-m", "notary.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"notary {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def add_platform(self, name: str) -> tuple[str, str]:
        """Register a platform; returns its id and token."""
        added = json.loads(self.notary("platform", "add", name, "--json"))
        return added["platform_id"], added["token"]

    def settings(self) -> object:
        """The instance's :class:`notary.config.Settings`, for work done in this process."""
        from notary.config import Settings

        return Settings.load(
            {}, instance_path=self.path, database_url=self.database_url, **_settings_overrides(self.extra_env)
        )

    def remove(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


def _settings_overrides(extra_env: dict[str, str]) -> dict[str, str]:
    return {name[len("NOTARY_") :].lower(): value for name, value in extra_env.items()}


class Service:
    """``notary serve`` (gunicorn with ``workers`` web workers, plus the background worker)."""

    def __init__(
        self,
        instance: Instance,
        *,
        workers: int = 2,
        background: bool = True,
        database_pids: Callable[[], list[int]] = list,
        server: str = "",
    ) -> None:
        self.instance = instance
        self.server = server
        self.database_pids = database_pids
        self.workers = workers
        self.background = background
        self.host = "127.0.0.1"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = instance.path.parent / f"serve-{self.port}.log"

    def start(self, timeout: float = 60) -> Service:
        env = self.instance.env
        if self.server in ("", "sync", "gthread"):
            command = [
                sys.executable,
                "-m",
                "notary.cli",
                "serve",
                "--host",
                self.host,
                "--port",
                str(self.port),
            ]
            if self.server:
                from bench.servers import THREADS

                env["NOTARY_WEB_THREADS"] = "1" if self.server == "sync" else str(THREADS)
        else:
            if not self.background:
                raise ValueError("another server than gunicorn always runs the background worker")
            command = [sys.executable, "-m", "bench.servers", self.server, "--host", self.host]
            command += ["--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        if not self.background:
            command.append("--no-worker")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"notary serve exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=2) as answer:
                    if answer.status == 200 and self._all_up():
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the service did not come up: {self.log_tail()}")

    def _all_up(self) -> bool:
        roles = self.processes()
        # waitress is one process, whatever ``workers`` says.
        expected = 1 if self.server == "waitress" else self.workers
        return len(roles["web_workers"]) >= expected and (
            not self.background or bool(roles["background_worker"])
        )

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}/api/v1{path}"

    def processes(self) -> dict[str, list[int]]:
        """The service's process ids by role: supervisor, web server's master (gunicorn's, or
        another server's main process), web workers (the master itself when it has no
        children: waitress), background worker."""
        roles: dict[str, list[int]] = {
            "supervisor": [],
            "gunicorn_master": [],
            "web_workers": [],
            "background_worker": [],
        }
        if self.process is None or self.process.poll() is not None:
            return roles
        roles["supervisor"].append(self.process.pid)
        below = procs.descendants(self.process.pid)
        children = [p for p in below if p.ppid == self.process.pid]
        masters = {p.pid for p in children if "notary.cli worker" not in p.command}
        for process in below:
            if process.pid in masters:
                roles["gunicorn_master"].append(process.pid)
            elif process.ppid in masters:
                roles["web_workers"].append(process.pid)
            elif "notary.cli worker" in process.command:
                roles["background_worker"].append(process.pid)
        if not roles["web_workers"]:
            roles["web_workers"] = list(roles["gunicorn_master"])
        return roles

    def pids(self) -> list[int]:
        """The service's processes, and the database server's when this run started it."""
        return [pid for pids in self.processes().values() for pid in pids] + self.database_pids()

    def rss(self) -> dict[str, float]:
        """Resident MiB: each web worker, the background worker, and their sum (``total``)."""
        roles = self.processes()
        sizes: dict[str, float] = {}
        for index, pid in enumerate(sorted(roles["web_workers"])):
            sizes[f"web_worker_{index}"] = round(procs.rss_mb(pid), 1)
        for pid in roles["background_worker"]:
            sizes["background_worker"] = round(procs.rss_mb(pid), 1)
        for pid in roles["gunicorn_master"]:
            sizes["gunicorn_master"] = round(procs.rss_mb(pid), 1)
        sizes["total"] = round(sum(sizes.values()), 1)
        return sizes

    def log_tail(self, size: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
