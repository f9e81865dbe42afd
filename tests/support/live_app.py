"""The test's own app served over real HTTP in a thread, for commands that call the API (``notary
check``, ``notary login``, ``notary report lodge``): the same runtime, database and injected
clock as the test, so these tests need no wall clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from werkzeug.serving import make_server

from tests.support.people import Person


@contextmanager
def live(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free local port; yields its base address (``http://127.0.0.1:P``)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def key_folder(person: Person, folder: Path) -> Path:
    """The person's key as ``notary keygen`` leaves it (``private.pem``, ``public.pem``)."""
    folder.mkdir(parents=True, exist_ok=True)
    pem = person.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (folder / "private.pem").write_bytes(pem)
    (folder / "private.pem").chmod(0o600)
    (folder / "public.pem").write_text(person.public.pem)
    return folder
