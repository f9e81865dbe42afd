"""A throwaway Redis server (Debian's ``redis-server``) on a Unix socket, for the shared rate
limits' production storage. Nothing is saved to disk; the server is stopped when done."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def redis_server() -> Iterator[str]:
    """Start ``redis-server`` listening on a Unix socket only; yield its ``redis+unix://`` address."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is missing: run make deps (scripts/debian-packages.sh)")
    folder = Path(tempfile.mkdtemp(prefix="notary-redis-"))
    socket_path = folder / "redis.sock"
    process = subprocess.Popen(
        [
            binary,
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not socket_path.exists():
            if process.poll() is not None:
                raise RuntimeError(f"redis-server stopped at start (exit {process.returncode})")
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not come up in 60 s")
            time.sleep(0.02)
        yield f"redis+unix://{socket_path}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)
