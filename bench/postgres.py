"""A throwaway PostgreSQL cluster: initdb in a temporary folder, a Unix socket only.

Used by the benchmark and by the tests (``tests/support/postgres.py``). As root the cluster
runs as the ``postgres`` user (PostgreSQL refuses to run as root); otherwise as the current
user. It listens on no TCP port, trusts local connections, and is removed by :meth:`stop`.

``durable=True`` keeps PostgreSQL's own defaults (fsync, synchronous_commit, full page
writes), as the benchmark must; the tests pass ``durable=False`` (fsync off) for speed.
Nothing here imports the notary.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg


def _bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if candidates:
        return Path(candidates[-1])
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    """``Cluster(durable=...).start()``; then :meth:`url`/:meth:`dsn` per database; :meth:`stop`."""

    def __init__(self, *, durable: bool = False, settings: dict[str, str] | None = None) -> None:
        bindir = _bindir()
        if bindir is None or not (bindir / "initdb").exists():
            raise RuntimeError("PostgreSQL is not installed (Debian package postgresql)")
        self.bindir = bindir
        self.durable = durable
        self.settings = {"max_connections": "200", **(settings or {})}
        if not durable:
            self.settings["fsync"] = "off"
        self.root = Path(tempfile.mkdtemp(prefix="notary-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "run"
        self.socket_dir.mkdir()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.socket_dir, "postgres")
            os.chmod(self.root, 0o755)

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)

    def start(self) -> Cluster:
        """initdb and start; returns once the server accepts connections (or raises)."""
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres", "-E", "UTF8"
        )
        return self.launch()

    def launch(self) -> Cluster:
        """Start the server on the existing data (after :meth:`start`, again after a crash)."""
        options = f"-c listen_addresses='' -c unix_socket_directories={self.socket_dir}"
        options += "".join(f" -c {name}={value}" for name, value in self.settings.items())
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-l",
            str(self.root / "log"),
            "start",
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), autocommit=True):
                    return self
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def dsn(self, database: str) -> str:
        return f"host={self.socket_dir} user=postgres dbname={database}"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}"

    def execute(self, sql: str) -> None:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    def postmaster_pid(self) -> int | None:
        """The server's process id (its backends are its children), or None when stopped."""
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
