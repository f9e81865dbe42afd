"""The objects a process needs, built once from settings: database, keys, blob store, services.

The app factory and the command line both build a :class:`Runtime`; nothing here is built at
import time, and a forked process builds its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from notary.config import ConfigError, Settings
from notary.services.ceremony.identity import PiiCipher
from notary.services.ceremony.signatures import Ceremony
from notary.services.clock import Clock, system_clock
from notary.services.filing.service import FilingService
from notary.services.tlog.checkpoints import Checkpointer
from notary.services.tlog.sequencer import Sequencer
from notary.services.tlog.timestamps import Stamper
from notary.signing.keystore import InstanceKeys, load_keys
from notary.signing.note_signer import NoteSigner
from notary.signing.tsa import EmbeddedTSA
from notary.signing.tsa_client import TimestampClient, build_authorities, self_check
from notary.storage.blobs import BlobStore, make_blob_store
from notary.storage.db import Database
from notary.storage.tree import TreeSink

if TYPE_CHECKING:
    from notary.services.evidence.certificates import CertificateService


@dataclass
class Runtime:
    """Everything wired together for one process."""

    settings: Settings
    clock: Clock = field(default=system_clock)

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.effective_database_url)

    @cached_property
    def keys(self) -> InstanceKeys:
        """The instance's keys; raises ``KeysUnusable`` when they are missing or damaged."""
        return load_keys(self.settings.key_dir)

    @cached_property
    def blobs(self) -> BlobStore:
        return make_blob_store(
            self.settings.blob_store, self.settings.blob_dir, self.settings.blob_inline_max
        )

    @cached_property
    def pii(self) -> PiiCipher:
        return PiiCipher(self.keys.pii_encryption_key, self.keys.pii_lookup_key)

    @cached_property
    def filing(self) -> FilingService:
        return FilingService(self.db, self.blobs, self.clock, self.settings)

    @cached_property
    def ceremony(self) -> Ceremony:
        return Ceremony(self.db, self.clock)

    @cached_property
    def sequencer(self) -> Sequencer:
        return Sequencer(self.db, self.clock, sinks=[TreeSink()])

    @cached_property
    def log_signer(self) -> NoteSigner:
        """Signs checkpoints as the log's origin with the log key."""
        return NoteSigner(self.settings.effective_log_origin, self.keys.log_key)

    @cached_property
    def checkpointer(self) -> Checkpointer:
        return Checkpointer(
            self.db, self.log_signer, interval=self.settings.checkpoint_interval, clock=self.clock
        )

    @cached_property
    def embedded_tsa(self) -> EmbeddedTSA:
        """The built-in RFC 3161 authority (also served at ``POST /tsa``)."""
        return EmbeddedTSA.from_instance_keys(self.keys)

    @cached_property
    def tsa_client(self) -> TimestampClient:
        """The configured authorities, in failover order (``NOTARY_TSA_URLS``)."""
        roots, intermediates = load_tsa_roots(self.settings.tsa_roots)
        # The embedded authority's tokens are proven once here, then taken as made.
        self_check(self.embedded_tsa)
        authorities = build_authorities(
            ",".join(self.settings.tsa_urls),
            embedded=self.embedded_tsa,
            external_roots=roots,
            external_intermediates=intermediates,
            check_own_tokens=False,
        )
        return TimestampClient(authorities, timeout=self.settings.tsa_timeout)

    @cached_property
    def stamper(self) -> Stamper:
        return Stamper(self.db, self.tsa_client, self.clock)

    @cached_property
    def certificates(self) -> CertificateService:
        """Certificate PDFs, signed with the notary key and timestamped by the embedded authority."""
        # Imported here: pyHanko and reportlab take most of a second to import, and the
        # background worker (restarted after a crash) never makes a certificate.
        from notary.services.evidence.certificates import CertificateService
        from notary.services.evidence.pdf import CertificateSigner

        signer = CertificateSigner(
            signer_key=self.keys.notary_key,
            signer_cert=self.keys.notary_cert,
            chain=self.keys.notary_chain,
            timestamper=self.embedded_tsa.respond,
        )
        return CertificateService(
            self.db,
            self.blobs,
            signer,
            settings=self.settings,
            verifier_key=self.log_signer.verifier,
            clock=self.clock,
        )

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()


def load_tsa_roots(path: str) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """External authorities' trust: the self-signed certificates in ``path`` are roots, the rest
    intermediates. An empty path trusts no external authority."""
    if not path:
        return [], []
    try:
        certificates = x509.load_pem_x509_certificates(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"tsa_roots: cannot read certificates from {path}: {exc}") from exc
    roots = [cert for cert in certificates if cert.issuer == cert.subject]
    return roots, [cert for cert in certificates if cert.issuer != cert.subject]
