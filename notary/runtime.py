"""The composition root: every part a process needs, built once from settings and wired together.

Only the interfaces (the app factory, the command line) import it. Everything is built when
the :class:`Runtime` is made, so a process with unreadable keys or a bad authority list stops
at start instead of on its first request, and threads never race to build a part. A forked
process builds its own. Services receive the parts they use from here, never the runtime.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from notary.config import ConfigError, Settings
from notary.services.access.checks import DocumentChecks
from notary.services.access.contracts import ContractReads
from notary.services.access.export import CaseExports
from notary.services.access.investigations import Cases, Investigators
from notary.services.access.platforms import PlatformRegistry
from notary.services.auth import Authenticator
from notary.services.ceremony.identity import IdentitySecrets, PiiCipher
from notary.services.ceremony.signatures import Ceremony
from notary.services.clock import Clock, system_clock
from notary.services.evidence.bundles import EvidenceBundles
from notary.services.filing.service import FilingService
from notary.services.health import Health
from notary.services.keys.lifecycle import KeyLifecycle
from notary.services.metrics import tsa_outcome
from notary.services.operations.checkup import Doctor, Thresholds
from notary.services.operations.scrape import InstanceCollector
from notary.services.outbox import ReportWebhooks
from notary.services.rate_limits import RateLimits, rules_from
from notary.services.reports.ledger import ReportLedger
from notary.services.reports.lodging import ReportDesk
from notary.services.reports.reads import ReportReads
from notary.services.tlog.checkpoints import Checkpointer
from notary.services.tlog.origins import LogOrigins
from notary.services.tlog.public import PublishedTrust
from notary.services.tlog.published import PublishedMark, guard_published
from notary.services.tlog.sequencer import Sequencer
from notary.services.tlog.timestamps import Stamper
from notary.services.tlog.witnesses import CosignatureCollector, parse_witnesses, policy_k
from notary.services.transparency.service import Transparency
from notary.services.webhooks.addresses import AddressPolicy
from notary.services.webhooks.deliveries import DeliveryLog
from notary.services.webhooks.dispatcher import Dispatcher
from notary.services.webhooks.endpoints import Subscriptions
from notary.services.webhooks.transport import Transport
from notary.services.worker import Chores, Worker, at_most_every, default_steps
from notary.signing.keystore import InstanceKeys, load_keys
from notary.signing.tsa import EmbeddedTSA
from notary.signing.tsa_client import TimestampClient, build_authorities, self_check
from notary.storage.blobs import BlobStore, make_blob_store
from notary.storage.db import Database
from notary.storage.rate_counters import counter_storage
from notary.storage.tree import TreeSink
from notary.verify.payloads import format_time

if TYPE_CHECKING:
    from notary.services.evidence.certificates import CertificateService
    from notary.services.evidence.pdf import CertificateSigner

log = logging.getLogger(__name__)


class Runtime:
    """Everything wired together for one process.

    ``web=True`` (the app factory) also builds the certificate service, whose PDF and signing
    libraries take most of a second to import; the background worker, restarted after every
    crash, never makes a certificate and does not load them.

    ``examine_only=True`` (``notary audit``) skips the start guard against a log shorter than the
    checkpoint it published (:func:`~notary.services.tlog.published.guard_published`): an audit
    examines whatever is there. Otherwise that guard raises ``LogBehindPublished``, ``LogForked``
    or ``PublishedMarkUnreadable``.

    Raises ``KeysUnusable`` when the instance's keys are missing or damaged, and
    :class:`~notary.config.ConfigError` for unreadable timestamp authority roots.
    """

    def __init__(
        self,
        settings: Settings,
        clock: Clock = system_clock,
        *,
        web: bool = False,
        examine_only: bool = False,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.keys: InstanceKeys = load_keys(settings.key_dir)
        self.db = Database(settings.effective_database_url)
        self.blobs: BlobStore = make_blob_store(
            settings.blob_store, settings.blob_dir, settings.blob_inline_max
        )
        self.pii = PiiCipher(self.keys.pii_encryption_key, self.keys.pii_lookup_key)
        self.identity_secrets = IdentitySecrets(self.pii)

        self.origins = LogOrigins(self.db, self.keys.log_key, self.keys.log_public_pem)
        """The log's stored origins (an identity fixed at the first start, issue 15.5)."""
        try:
            origin = self.origins.establish(
                configured=settings.log_origin,
                derived=settings.effective_log_origin,
                now=format_time(clock()),
            )
        except BaseException:
            self.db.dispose()  # a process refused at start leaves no connection or lock open
            raise
        self.published_mark = PublishedMark(settings.instance_path)
        """The largest checkpoint published, kept beside the database (issue 23.3)."""
        try:
            if not examine_only:  # `notary audit` must examine a damaged or rolled-back log
                guard_published(
                    self.db,
                    self.published_mark,
                    self.origins,
                    accept_shorter=settings.unsafe_accept_shorter_log,
                )
        except BaseException:
            self.db.dispose()
            raise
        self.log_signer = self.origins.signer(origin)
        """The log key under the origin current when this process started."""
        self.embedded_tsa = EmbeddedTSA.from_instance_keys(self.keys, clock=clock)
        """The built-in RFC 3161 authority (also served at ``POST /tsa``), on the service's clock."""
        self.tsa_client = _timestamp_client(settings, self.embedded_tsa)
        """The configured authorities, in failover order (``NOTARY_TSA_URLS``)."""

        self.authenticator = Authenticator(self.db, clock)
        self.filing = FilingService(self.db, self.blobs, clock, settings)
        self.ceremony = Ceremony(self.db, clock)
        self.keys_lifecycle = KeyLifecycle(self.db, clock, self.pii)
        """Revoking and rotating parties' keys, undoing identity bindings (issue 25)."""
        self.sequencer = Sequencer(self.db, clock, sinks=[TreeSink()])
        self.checkpointer = Checkpointer(
            self.db,
            self.origins,
            interval=settings.checkpoint_interval,
            clock=clock,
            mark=self.published_mark,
        )
        self.stamper = Stamper(self.db, self.tsa_client, clock)
        witnesses = parse_witnesses(settings.witnesses)
        self.cosignatures = CosignatureCollector(
            self.db,
            witnesses,
            k=policy_k(settings.witness_k, witnesses),
            clock=clock,
            timeout=settings.witness_timeout,
        )
        """Asks the configured witnesses (``NOTARY_WITNESSES``) to cosign checkpoints."""
        self.published = PublishedTrust(
            self.db, self.origins, self.keys.root_cert, self.tsa_client.authorities
        )
        self.bundles = EvidenceBundles(self.blobs, self.keys.notary_chain, self.origins.log_key)
        self.exports = CaseExports(
            self.db,
            self.blobs,
            clock,
            self.bundles,
            self.keys.notary_key,
            self.keys.notary_cert,
            identity_secrets=self.identity_secrets,
            tsa_client=self.tsa_client,
        )
        self.platforms = PlatformRegistry(self.db, clock)
        self.investigators = Investigators(self.db, clock)
        self.cases = Cases(self.db, clock, self.pii)
        self.chores = Chores(self.db, clock)
        self.doctor = build_doctor(settings, self.db, clock)
        self.health = Health(self.db, self.doctor)
        self.webhook_policy = _webhook_policy(settings)
        """Where webhooks may go (checked at registration and at every attempt)."""
        self.subscriptions = Subscriptions(self.db, clock, self.pii, self.webhook_policy)
        self.deliveries = DeliveryLog(self.db, clock)
        self.instance_metrics = InstanceCollector(self.db, self.doctor, clock)
        """What ``GET /metrics`` reads from the database and the key folder at each scrape."""
        self.certificates: CertificateService | None = self._certificates() if web else None
        self.checks = DocumentChecks(self.db, clock)
        report_events = ReportWebhooks(clock)
        self.report_desk = ReportDesk(self.db, self.blobs, clock, settings, events=report_events)
        self.report_ledger = ReportLedger(self.db, clock, self.sequencer.sinks, events=report_events)
        self.report_reads = ReportReads(self.db, self.blobs, clock)
        self.transparency = Transparency(self.db, clock, settings)
        self.rate_limits: RateLimits | None = (
            RateLimits(counter_storage(settings.effective_rate_limit_storage), rules_from(settings))
            if web
            else None
        )
        """Requests counted per client, in counters every web process shares (web runtimes only)."""
        self.reads = ContractReads(self.db, self.blobs, clock, self.bundles, self.certificates)
        self._report_signer: CertificateSigner | None = None

    def _certificates(self) -> CertificateService:
        """Certificate PDFs, signed with the notary key and timestamped by the embedded authority."""
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
            verifier_key=lambda origin: self.origins.signer(origin).verifier,
            clock=self.clock,
            bundle_parts=self.bundles.parts,
        )

    def worker(self, *, holder: str | None = None) -> Worker:
        """The background worker: the sequencer, the audit anchor, timestamps, checkpoints, chores."""
        steps = default_steps(
            self.sequencer,
            self.stamper,
            self.checkpointer,
            self.chores,
            self.db,
            self.clock,
            self.cosignatures,
            leaf_steps=[self.report_ledger.log_pending],
            upkeep=[at_most_every(5.0, self.report_ledger.mark_filed_late)],
        )
        return Worker(
            self.db,
            steps,
            lease_duration=self.settings.lease_duration,
            poll_interval=self.settings.worker_poll_interval,
            linger=self.settings.worker_linger,
            holder=holder,
        )

    def report_signer(self) -> CertificateSigner:
        """Signs the verify page's PDF reports with the report key (``report.key``), never the
        notary's evidence key. Built on first use, so an instance made before that key existed
        still serves everything else; raises ``KeysUnusable`` there (``notary init`` adds it)."""
        if self._report_signer is None:
            from notary.services.evidence.pdf import CertificateSigner
            from notary.services.evidence.verification_report import TITLE_EN, TITLE_ZH
            from notary.signing.keystore import load_report_key

            report_key = load_report_key(self.settings.key_dir)
            self._report_signer = CertificateSigner(
                signer_key=report_key.key,
                signer_cert=report_key.cert,
                chain=report_key.chain,
                timestamper=self.embedded_tsa.respond,
                reason=f"{TITLE_ZH} / {TITLE_EN}",
            )
        return self._report_signer

    def webhook_dispatcher(self) -> Dispatcher:
        """Sends the outbox's deliveries (``docs/webhooks.md``); close it when done."""
        return Dispatcher(
            self.db,
            self.clock,
            self.pii,
            self.webhook_policy,
            Transport(timeout=self.settings.webhook_timeout),
            threads=self.settings.webhook_threads,
            per_endpoint=self.settings.webhook_endpoint_concurrency,
            max_attempts=self.settings.webhook_max_attempts,
            retry_base=self.settings.webhook_retry_base,
            retention=self.settings.webhook_retention,
        )

    def webhook_worker(self, dispatcher: Dispatcher, *, holder: str | None = None) -> Worker:
        """The webhooks' background loop: its own lease, so one process delivers at a time
        and a slow receiver never holds up sealing."""
        return Worker(
            self.db,
            [dispatcher.run_once, at_most_every(3600.0, dispatcher.purge_old)],
            lease_duration=self.settings.lease_duration,
            poll_interval=self.settings.worker_poll_interval,
            holder=holder,
            lease_name="webhooks",
        )

    def close(self) -> None:
        self.cosignatures.close()
        self.db.dispose()


def build_doctor(settings: Settings, db: Database, clock: Clock) -> Doctor:
    """The instance's examiner, on ``db``; it reads keys and certificates from disk itself."""
    return Doctor(
        db,
        instance_path=settings.instance_path,
        key_dir=settings.key_dir,
        tsa_roots=settings.tsa_roots,
        clock=clock,
        lease_duration=settings.lease_duration,
        thresholds=Thresholds(
            certificate_warning=settings.certificate_warning, disk_free_min=settings.disk_free_min
        ),
    )


@contextmanager
def doctor_scope(settings: Settings, clock: Clock = system_clock) -> Iterator[Doctor]:
    """A doctor for ``notary doctor``, without the rest of a runtime: it must examine an
    instance whose keys or database would stop a runtime from being built."""
    db = Database(settings.effective_database_url)
    try:
        yield build_doctor(settings, db, clock)
    finally:
        db.dispose()


def _webhook_policy(settings: Settings) -> AddressPolicy:
    if settings.unsafe_webhook_loopback:
        log.warning("unsafe_webhook_loopback: webhooks may go to loopback addresses over plain http")
    if settings.unsafe_webhook_networks:
        log.warning(
            "unsafe_webhook_networks: webhooks may go to %s", ", ".join(settings.unsafe_webhook_networks)
        )
    try:
        return AddressPolicy(
            allow_loopback=settings.unsafe_webhook_loopback,
            allowed_networks=settings.unsafe_webhook_networks,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def _timestamp_client(settings: Settings, embedded: EmbeddedTSA) -> TimestampClient:
    roots, intermediates = load_tsa_roots(settings.tsa_roots)
    # The embedded authority's tokens are proven once here, then taken as made.
    self_check(embedded)
    authorities = build_authorities(
        ",".join(settings.tsa_urls),
        embedded=embedded,
        external_roots=roots,
        external_intermediates=intermediates,
        check_own_tokens=False,
    )
    return TimestampClient(authorities, timeout=settings.tsa_timeout, observe=tsa_outcome)


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
