"""Opening a certificate PDF: its one signature, the files it carries, the record it names.

Reading only; every judgement is a check (:mod:`notary.verify_pdf.checks`). pyHanko parses
the PDF. What the reader takes from the file (carried files, metadata) counts only once the
checks have shown that the notary's signature covers the whole file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from notary.verify.canonical import parse_json
from notary.verify.errors import MalformedInput
from notary.verify_pdf.errors import MalformedCertificate

#: A certificate is two A4 pages and a few carried files: ~100 KB. Refuse anything far larger
#: before parsing it.
MAX_CERTIFICATE_BYTES = 16 * 1024 * 1024
MAX_CARRIED_FILES = 64
SIGNATURE_FIELD = "NotarySignature"
CERTIFICATE_MEMBER = "certificate.json"
_CONTRACT_ID = re.compile(r"ct_[0-9A-Za-z]{1,64}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class CertificatePdf:
    """A certificate PDF, parsed: build with :meth:`from_bytes`.

    ``carried`` maps each embedded file's name to its bytes; ``facts`` is ``certificate.json``
    parsed (``None`` in certificates issued before it was carried).
    """

    data: bytes
    signature: Any = field(repr=False)
    carried: Mapping[str, bytes]
    facts: Mapping[str, Any] | None
    subject: str

    @classmethod
    def from_bytes(cls, data: bytes) -> CertificatePdf:
        """Parse ``data``; raises :class:`MalformedCertificate` for anything that is not a PDF
        with exactly one signature, in the field the notary signs, and readable carried files."""
        if not data.startswith(b"%PDF-"):
            raise MalformedCertificate("not a PDF: the file does not start with %PDF-")
        if len(data) > MAX_CERTIFICATE_BYTES:
            raise MalformedCertificate(
                f"the PDF is larger than {MAX_CERTIFICATE_BYTES} bytes: no certificate is",
                details={"size": len(data)},
            )
        from pyhanko.pdf_utils.misc import PdfError
        from pyhanko.pdf_utils.reader import PdfFileReader

        try:
            reader = PdfFileReader(io.BytesIO(data), strict=False)
            signatures = list(reader.embedded_signatures)
            carried = _carried(reader)
            subject = str(reader.trailer["/Info"].get("/Subject", "")) if "/Info" in reader.trailer else ""
        except (PdfError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise MalformedCertificate(f"the PDF cannot be read: {exc}") from exc
        if len(signatures) != 1:
            raise MalformedCertificate(
                f"a certificate carries exactly one signature, the notary's; this PDF has {len(signatures)}",
                details={"signatures": len(signatures)},
            )
        (signature,) = signatures
        if signature.field_name != SIGNATURE_FIELD:
            raise MalformedCertificate(
                f"the signature is in field {signature.field_name!r}, not the notary's {SIGNATURE_FIELD!r}"
            )
        facts = None
        if CERTIFICATE_MEMBER in carried:
            try:
                facts = parse_json(carried[CERTIFICATE_MEMBER], what=CERTIFICATE_MEMBER)
            except MalformedInput as exc:
                raise MalformedCertificate(exc.message) from exc
            if not isinstance(facts, dict):
                raise MalformedCertificate(f"{CERTIFICATE_MEMBER} is not a JSON object")
        return cls(data, signature, MappingProxyType(dict(carried)), facts, subject)

    @property
    def named_record_sha256(self) -> str | None:
        """The SHA-256 of the record the certificate names (from ``certificate.json``)."""
        value = (self.facts or {}).get("record_sha256")
        return value if isinstance(value, str) and _HEX64.fullmatch(value) else None

    @property
    def contract_id(self) -> str | None:
        """The contract the certificate is about: ``certificate.json``, else the PDF's subject
        (``…: ct_…``, as every certificate has written it)."""
        value = (self.facts or {}).get("contract_id")
        if isinstance(value, str) and _CONTRACT_ID.fullmatch(value):
            return value
        found = _CONTRACT_ID.findall(self.subject)
        return found[-1] if found else None


def _carried(reader: Any) -> dict[str, bytes]:
    root = reader.root
    if "/Names" not in root or "/EmbeddedFiles" not in root["/Names"]:
        return {}
    names = root["/Names"]["/EmbeddedFiles"].get("/Names", [])
    if len(names) > 2 * MAX_CARRIED_FILES:
        raise MalformedCertificate(f"the PDF carries more than {MAX_CARRIED_FILES} files")
    carried: dict[str, bytes] = {}
    for index in range(0, len(names) - 1, 2):
        name = str(names[index])
        if name in carried:
            raise MalformedCertificate(f"the PDF carries {name!r} twice")
        carried[name] = bytes(names[index + 1].get_object()["/EF"]["/F"].get_object().data)
    return carried
