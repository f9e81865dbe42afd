"""``notary verify --online URL``: what a notary or a mirror can add to a bundle, fetched.

The latest checkpoint (with its cosignatures) and a consistency proof from the bundle's tree
to it. Nothing fetched is trusted: the verifier checks the checkpoint's signature with the
trust file and the proof against both roots, so a mirror serves as well as the notary. A
latest checkpoint smaller than the bundle's is passed on as it is, and the verifier names
the rollback.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path

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


def fetch_newer(url: str, bundle: Path) -> tuple[Path, Path]:
    """Fetch the latest checkpoint and the proof to it into temporary files; raises
    :class:`Unusable` (exit 2) when the URL does not answer."""
    base = url.rstrip("/")
    if not base.endswith("/api/v1"):
        base += "/api/v1"
    old = _bundle_size(bundle)
    try:
        text = fetch.get(base + "/log/checkpoint")
        newer = parse_checkpoint(parse_note(text).text).size
        if newer > old:
            proof = fetch.get_json(fetch.with_query(base + "/log/proof/consistency", first=old, second=newer))
        else:
            # Equal: nothing to prove but equal roots; smaller: the verifier names the rollback.
            proof = {"first": old, "second": newer, "hashes": []}
    except NotaryError as exc:
        raise Unusable(f"--online: {exc.message}", code=exc.code) from exc
    folder = Path(tempfile.mkdtemp(prefix="notary-online-"))
    (folder / "checkpoint.txt").write_bytes(text)
    (folder / "consistency.json").write_text(json.dumps(proof))
    return folder / "checkpoint.txt", folder / "consistency.json"
