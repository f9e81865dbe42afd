"""Case exports for tests, without a database: genuine bundles (tests/support/evidence.py) in a
zip written and signed as the service writes and signs one (notary/services/access/export.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from notary.verify.archive import write_archive
from notary.verify.evidence.record import parse_time
from notary.verify.export.archive import ExportArchive
from notary.verify.export.manifest import ManifestWriter, bundle_path, signature_file
from notary.verify.export.zipstream import ZipStream
from notary.verify.keys import key_fingerprint
from notary.verify.payloads import format_time
from tests.support.clock import EPOCH
from tests.support.evidence import SampleNotary, pem_chain

EXPORTED_AT = format_time(EPOCH + dt.timedelta(days=1, hours=1))  # 2026-12-02T09:00:00.000Z


def header(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "format": "notary-export/1",
        "purpose": "notary.export.v1",
        "case": {
            "case_id": "cs_0001",
            "case_number": "JX-2026-117",
            "legal_basis": "Criminal Procedure Law art. 54",
            "scope": {"platform_id": "pl_0001"},
        },
        "exported_by": {"kind": "investigator", "id": "iv_0001"},
        "investigator": {
            "investigator_id": "iv_0001",
            "name": "Officer Wang",
            "agency": "Example City Police",
        },
        "exported_at": EXPORTED_AT,
        "tool_version": "0.1.0",
    }
    value.update(overrides)
    return value


def manifest_bytes(
    bundles: Mapping[str, bytes], not_included: Mapping[str, str] | None = None, **overrides: Any
) -> bytes:
    writer = ManifestWriter(header(**overrides))
    for contract_id in sorted(bundles):
        writer.add_bundle(contract_id, hashlib.sha256(bundles[contract_id]).hexdigest())
    for contract_id in sorted(not_included or {}):
        writer.add_not_included(contract_id, (not_included or {})[contract_id])
    data = b"".join(writer.chunks())
    writer.close()
    return data


def sign(notary: SampleNotary, manifest: bytes) -> bytes:
    keys = notary.keys
    fingerprint = key_fingerprint(
        keys.notary_cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )
    signature = keys.notary_key.sign(manifest, ec.ECDSA(hashes.SHA256()))
    return signature_file(key_fingerprint=fingerprint, signature=signature)


def make_export(
    notary: SampleNotary,
    bundles: Mapping[str, bytes],
    *,
    not_included: Mapping[str, str] | None = None,
    force_zip64: bool = False,
    **overrides: Any,
) -> bytes:
    """An export of ``bundles`` (contract id → bundle zip) signed by ``notary``, streamed as the
    service streams one."""
    manifest = manifest_bytes(bundles, not_included, **overrides)
    stream = ZipStream(modified=parse_time(EXPORTED_AT), force_zip64=force_zip64)
    chunks = list(stream.member("keys/notary.pem", pem_chain(notary.keys.notary_chain)))
    for contract_id in sorted(bundles):
        chunks += stream.member(bundle_path(contract_id), bundles[contract_id])
    chunks += stream.member("manifest.json", manifest)
    chunks += stream.member("manifest.sig", sign(notary, manifest))
    chunks += stream.finish()
    return b"".join(chunks)


def export_members(data: bytes) -> dict[str, bytes]:
    archive = ExportArchive.open(io.BytesIO(data))
    return {entry.name: archive.read(entry) for entry in archive.entries()}


def rezip(members: Mapping[str, bytes] | Sequence[tuple[str, bytes]]) -> bytes:
    """The members (in the order given) in a sound zip, as anyone could repack them."""
    items = list(members.items()) if isinstance(members, Mapping) else list(members)
    return write_archive(items, modified=parse_time(EXPORTED_AT))
