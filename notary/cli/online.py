"""``notary verify --online URL``: what a notary or a mirror can add to a bundle or a
certificate, fetched.

The latest checkpoint (with its cosignatures) and a consistency proof from the evidence's tree
to it. Fetched here, in the CLI, never in the verifier; nothing fetched is trusted: the
verifier checks the checkpoint's signature with the trust file and the proof against both
roots, so a mirror serves as well as the notary. A latest checkpoint smaller than the
evidence's is passed on as it is, and the verifier names the rollback.
"""

from __future__ import annotations

import json
import tempfile
import urllib.parse
import zipfile
from pathlib import Path
from typing import Any

from notary.cli.common import Unusable
from notary.verify.errors import NotaryError
from notary.verify.note import parse_checkpoint, parse_note
from notary.watch import fetch


def _bundle_size(bundle: Path) -> int:
    try:
        with zipfile.ZipFile(bundle) as archive:
            text = archive.read("log/checkpoint.txt")
        return parse_checkpoint(parse_note(text).text).size
    except (OSError, KeyError, zipfile.BadZipFile, NotaryError) as exc:
        raise Unusable(f"--online: cannot read the bundle's checkpoint: {exc}") from exc


def fetch_newer_checkpoint(url: str, size: int) -> tuple[bytes, dict[str, Any]]:
    """The latest checkpoint at ``url`` and the consistency proof from ``size`` to it.

    Raises :class:`Unusable` (exit 2, ``source_unreachable``) when the URL is not http(s) or
    does not answer a checkpoint and a proof.
    """
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise Unusable(f"--online needs an http(s) URL, not {url!r}", code=fetch.Unreachable.code)
    base = url.rstrip("/")
    if not base.endswith("/api/v1"):
        base += "/api/v1"
    try:
        text = fetch.get(base + "/log/checkpoint")
        newer = parse_checkpoint(parse_note(text).text).size
        if newer > size:
            proof = fetch.get_json(
                fetch.with_query(base + "/log/proof/consistency", first=size, second=newer)
            )
        else:
            # Equal: nothing to prove but equal roots; smaller: the verifier names the rollback.
            proof = {"first": size, "second": newer, "hashes": []}
    except NotaryError as exc:
        raise Unusable(f"--online: {exc.message}", code=exc.code) from exc
    if not isinstance(proof, dict):
        raise Unusable("--online: the consistency proof is not a JSON object", code=fetch.Unreachable.code)
    return text, proof


def fetch_newer(url: str, bundle: Path) -> tuple[Path, Path]:
    """Fetch the latest checkpoint and the proof to it from the bundle's tree into temporary
    files; raises :class:`Unusable` (exit 2) when the URL does not answer."""
    text, proof = fetch_newer_checkpoint(url, _bundle_size(bundle))
    folder = Path(tempfile.mkdtemp(prefix="notary-online-"))
    (folder / "checkpoint.txt").write_bytes(text)
    (folder / "consistency.json").write_text(json.dumps(proof))
    return folder / "checkpoint.txt", folder / "consistency.json"
