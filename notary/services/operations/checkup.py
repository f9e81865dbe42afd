"""What about an instance needs an operator's action: ``notary doctor`` and ``/healthz``.

Boot versus health (round-2 notes): unreadable keys stop a process at start; everything that
can go wrong while it runs, or creep up on it, is reported here instead: certificates nearing
the end of their validity, a filling disk, migrations not applied, no worker leading, contracts
waiting too long to be sealed, the certificate font missing.

Every finding is one line with a severity. ``warning`` means act soon (a certificate with
weeks left, a disk getting full); ``failure`` means something is broken now (an expired
certificate, no worker, a schema behind the code). The exit codes follow the convention
monitoring systems read (Nagios and its successors): 0 ok, 1 warning, 2 failure.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

from cryptography import x509
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from notary.services.ceremony.signatures import SIGNED
from notary.services.clock import Clock, parse_time
from notary.services.glyphs import PRIMARY_FONT, BadFont, read_coverage
from notary.services.tlog.timestamps import timestamp_backlog
from notary.signing.keystore import (
    INSTANCE_CERTIFICATES,
    REPORT_CERT,
    KeysUnusable,
    load_keys,
    read_certificate,
)
from notary.storage.db import Database
from notary.storage.lease import lease_row
from notary.storage.models import Contract
from notary.storage.schema import schema_revisions

DAY = 86400.0


class Severity(StrEnum):
    """How urgently a finding needs an operator: ``ok`` not at all, ``warning`` soon, ``failure`` now."""

    OK = "ok"
    WARNING = "warning"
    FAILURE = "failure"

    @property
    def rank(self) -> int:
        """0, 1, 2: the exit code of ``notary doctor`` when this is the worst finding."""
        return (Severity.OK, Severity.WARNING, Severity.FAILURE).index(self)


class Check(StrEnum):
    """What a finding is about."""

    INSTANCE = "instance"
    KEYS = "keys"
    CERTIFICATE = "certificate"
    DISK = "disk"
    DATABASE = "database"
    MIGRATIONS = "migrations"
    WORKER = "worker"
    SEALING = "sealing"
    FONT = "font"


@dataclass(frozen=True)
class Finding:
    """One fact about the instance and whether it needs action; ``facts`` are its figures."""

    check: Check
    subject: str
    severity: Severity
    message: str
    facts: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """One line for a terminal: severity, check, subject, what to know or do."""
        return f"{self.severity:<8} {self.check:<12} {self.subject}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": str(self.check),
            "subject": self.subject,
            "severity": str(self.severity),
            "message": self.message,
            **self.facts,
        }


@dataclass(frozen=True)
class Checkup:
    """Every finding of one examination, at ``checked_at`` (the service's clock)."""

    findings: tuple[Finding, ...]
    checked_at: dt.datetime

    @property
    def severity(self) -> Severity:
        """The worst finding's severity (``ok`` when there is none)."""
        return max((finding.severity for finding in self.findings), key=lambda s: s.rank, default=Severity.OK)

    @property
    def exit_code(self) -> int:
        """0 nothing to do, 1 act soon (a warning), 2 something is broken (a failure)."""
        return self.severity.rank

    def needing_action(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity is not Severity.OK]

    def of(self, check: Check) -> list[Finding]:
        return [finding for finding in self.findings if finding.check is check]

    def worst(self, check: Check) -> Severity | None:
        """The worst severity among one check's findings (``None`` when it was not run)."""
        found = [finding.severity for finding in self.of(check)]
        return max(found, key=lambda s: s.rank) if found else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": str(self.severity),
            "checked_at": self.checked_at.isoformat().replace("+00:00", "Z"),
            "findings": [finding.as_dict() for finding in self.findings],
        }


@dataclass(frozen=True)
class Thresholds:
    """When a fact becomes a warning. A certificate with less than ``certificate_warning``
    seconds left warns; a disk with less than ``disk_free_min`` bytes free warns, and fails
    below a tenth of that; a contract waiting longer than ``seal_wait`` to be sealed warns."""

    certificate_warning: float = 60 * DAY
    disk_free_min: int = 1 << 30
    seal_wait: float = 600.0


class DiskUsage(NamedTuple):
    total: int
    used: int
    free: int


class Doctor:
    """Examines one instance: its files (keys, certificates, disk, font) and its database.

    ``wall`` is the machine's clock in seconds: the worker's lease is written on it (see
    :mod:`notary.storage.lease`), so the heartbeat is judged on it too. Every other time is
    the service's ``clock``. ``disk_usage`` and ``font`` are parameters so that tests can
    stage a full disk or a missing font.
    """

    def __init__(
        self,
        db: Database,
        *,
        instance_path: Path,
        key_dir: Path,
        tsa_roots: str,
        clock: Clock,
        lease_duration: float,
        thresholds: Thresholds | None = None,
        font: tuple[Path, int] = PRIMARY_FONT,
        wall: Callable[[], float] = time.time,
        disk_usage: Callable[[Path], DiskUsage] = shutil.disk_usage,
    ) -> None:
        self.db = db
        self.instance_path = instance_path
        self.key_dir = key_dir
        self.tsa_roots = tsa_roots
        self.clock = clock
        self.lease_duration = lease_duration
        self.thresholds = thresholds or Thresholds()
        self.font = font
        self.wall = wall
        self.disk_usage = disk_usage
        self._head: str | None = None

    def checkup(self, *, deep: bool = True) -> Checkup:
        """Every finding about the instance. ``deep`` also loads the private keys and reads the
        font's character map (``notary doctor``); ``/healthz`` skips both, as it runs often and
        its process loaded the keys at start. Never raises for what it finds: a database that
        does not answer is a finding too."""
        now = self.clock()
        if not self.instance_path.is_dir():
            missing = Finding(
                Check.INSTANCE,
                str(self.instance_path),
                Severity.FAILURE,
                "the instance folder does not exist: run notary init (or set NOTARY_INSTANCE_PATH)",
            )
            return Checkup((missing,), now)
        findings: list[Finding] = []
        if deep:
            findings.append(self._keys())
        findings.extend(self._certificates(now))
        findings.append(self._disk())
        findings.extend(self._database(now))
        findings.append(self._font(deep=deep))
        return Checkup(tuple(findings), now)

    def _keys(self) -> Finding:
        try:
            load_keys(self.key_dir)
        except KeysUnusable as exc:
            return Finding(
                Check.KEYS, str(self.key_dir), Severity.FAILURE, f"{exc.message}: no process can start"
            )
        return Finding(Check.KEYS, str(self.key_dir), Severity.OK, "every live key loads")

    def _certificates(self, now: dt.datetime) -> Iterator[Finding]:
        for subject, file_name in INSTANCE_CERTIFICATES:
            try:
                certificate = read_certificate(self.key_dir / file_name)
            except KeysUnusable as exc:
                # The report key came after the others: an older instance gets it from init.
                severity = Severity.WARNING if file_name == REPORT_CERT else Severity.FAILURE
                yield Finding(Check.CERTIFICATE, subject, severity, f"{exc.message}: run notary init")
                continue
            yield self._validity(subject, certificate, now)
        if not self.tsa_roots:
            return
        try:
            external = x509.load_pem_x509_certificates(Path(self.tsa_roots).read_bytes())
        except (OSError, ValueError) as exc:
            yield Finding(
                Check.CERTIFICATE,
                "timestamp authority roots",
                Severity.FAILURE,
                f"cannot read {self.tsa_roots} ({exc}): external authorities' tokens cannot be checked",
            )
            return
        for certificate in external:
            kind = "root" if certificate.issuer == certificate.subject else "intermediate"
            yield self._validity(f"TSA {kind} {_common_name(certificate)}", certificate, now)

    def _validity(self, subject: str, certificate: x509.Certificate, now: dt.datetime) -> Finding:
        ends = certificate.not_valid_after_utc
        left = (ends - now).total_seconds()
        days_left = int(left / DAY)  # whole days, toward zero: 0 on the last day and the first after
        facts = {"days_left": days_left, "not_after": ends.isoformat().replace("+00:00", "Z")}
        until = ends.date().isoformat()
        if certificate.not_valid_before_utc > now:
            return Finding(
                Check.CERTIFICATE,
                subject,
                Severity.FAILURE,
                f"not valid before {certificate.not_valid_before_utc.isoformat()}: check the machine's clock",
                facts,
            )
        if left <= 0:
            return Finding(
                Check.CERTIFICATE,
                subject,
                Severity.FAILURE,
                f"expired on {until}: what it signs no longer verifies; issue a new one now",
                facts,
            )
        if left < self.thresholds.certificate_warning:
            return Finding(
                Check.CERTIFICATE,
                subject,
                Severity.WARNING,
                f"expires in {days_left} days (on {until}): issue its successor before then",
                facts,
            )
        return Finding(
            Check.CERTIFICATE, subject, Severity.OK, f"{days_left} days left (until {until})", facts
        )

    def _disk(self) -> Finding:
        usage = self.disk_usage(self.instance_path)
        facts = {"free_bytes": usage.free, "total_bytes": usage.total}
        free = _size(usage.free)
        minimum = self.thresholds.disk_free_min
        subject = str(self.instance_path)
        if usage.free < minimum / 10:
            return Finding(
                Check.DISK,
                subject,
                Severity.FAILURE,
                f"{free} free: writes are about to fail; free space now",
                facts,
            )
        if usage.free < minimum:
            return Finding(
                Check.DISK,
                subject,
                Severity.WARNING,
                f"{free} free, under {_size(minimum)}: free space soon",
                facts,
            )
        return Finding(Check.DISK, subject, Severity.OK, f"{free} free of {_size(usage.total)}", facts)

    def _database(self, now: dt.datetime) -> list[Finding]:
        try:
            return [self._migrations(), self._worker(), self._sealing(now)]
        except SQLAlchemyError as exc:
            return [
                Finding(
                    Check.DATABASE,
                    self.db.dialect,
                    Severity.FAILURE,
                    f"the database does not answer ({type(exc).__name__})",
                )
            ]

    def _migrations(self) -> Finding:
        current, head = schema_revisions(self.db)
        facts = {"current": current, "head": head}
        if current is None:
            return Finding(
                Check.MIGRATIONS, self.db.dialect, Severity.FAILURE, "no schema: run notary init", facts
            )
        if current != head:
            return Finding(
                Check.MIGRATIONS,
                self.db.dialect,
                Severity.FAILURE,
                f"the schema is at {current}, this release needs {head}: "
                "stop the service, back up, then run notary init (it upgrades)",
                facts,
            )
        return Finding(Check.MIGRATIONS, self.db.dialect, Severity.OK, f"the schema is at {head}", facts)

    def _worker(self) -> Finding:
        lease = lease_row(self.db, "worker")
        if lease is None:
            return Finding(
                Check.WORKER,
                "background worker",
                Severity.FAILURE,
                "no worker has ever led: nothing is sealed; start notary serve or notary worker",
                {"heartbeat_age": None},
            )
        now = self.wall()
        # The leader renews its lease at the start of a round, at most every third of the
        # lease: the renewal is its heartbeat.
        age = round(max(0.0, now - (lease.expires_at - self.lease_duration)), 1)
        facts = {"holder": lease.holder, "epoch": lease.epoch, "heartbeat_age": age}
        if lease.expires_at <= 0:
            return Finding(
                Check.WORKER,
                "background worker",
                Severity.FAILURE,
                f"{lease.holder} stopped and gave up the lease; no worker leads: nothing is sealed",
                {**facts, "heartbeat_age": None},
            )
        if lease.expires_at <= now:
            return Finding(
                Check.WORKER,
                "background worker",
                Severity.FAILURE,
                f"no worker leads: the lease of {lease.holder} lapsed {now - lease.expires_at:.0f} s ago; "
                "nothing is sealed until a worker runs",
                facts,
            )
        return Finding(
            Check.WORKER,
            "background worker",
            Severity.OK,
            f"{lease.holder} leads; heartbeat {age:.1f} s ago",
            facts,
        )

    def _sealing(self, now: dt.datetime) -> Finding:
        with self.db.read() as session:
            waiting, oldest = session.execute(
                select(func.count(), func.min(Contract.signed_at)).where(Contract.status == SIGNED)
            ).one()
            backlog = timestamp_backlog(session)
        wait = max(0.0, (now - parse_time(oldest)).total_seconds()) if oldest else 0.0
        facts = {"waiting": waiting, "oldest_wait": round(wait, 3), "timestamp_backlog": backlog}
        if waiting and wait > self.thresholds.seal_wait:
            return Finding(
                Check.SEALING,
                "contracts waiting to be sealed",
                Severity.WARNING,
                f"{waiting} waiting, the oldest for {wait:.0f} s: is the worker running and leading?",
                facts,
            )
        return Finding(
            Check.SEALING,
            "contracts waiting to be sealed",
            Severity.OK,
            f"{waiting} waiting (oldest {wait:.1f} s); {backlog} leaves waiting for a timestamp",
            facts,
        )

    def _font(self, *, deep: bool) -> Finding:
        path, face = self.font
        try:
            if deep:
                read_coverage(path, face)
            elif not path.is_file():
                raise FileNotFoundError(path)
        except (OSError, BadFont) as exc:
            return Finding(
                Check.FONT,
                str(path),
                Severity.FAILURE,
                f"unreadable ({type(exc).__name__}): certificates cannot be made; install fonts-wqy-zenhei",
            )
        return Finding(Check.FONT, str(path), Severity.OK, "the certificate font is readable")


def short_facts(checkup: Checkup) -> dict[str, Any]:
    """The checkup in short, for ``/healthz``: one severity per check and the key figures, no
    host names, paths or messages (the answer is public)."""
    checks = {str(check): worst for check in Check if (worst := checkup.worst(check)) is not None}
    days = {finding.subject: finding.facts.get("days_left") for finding in checkup.of(Check.CERTIFICATE)}
    facts: dict[str, Any] = {
        "checkup": str(checkup.severity),
        "checks": {name: str(severity) for name, severity in checks.items()},
        "certificate_days_left": days,
    }
    for check, name, key in (
        (Check.DISK, "disk_free_bytes", "free_bytes"),
        (Check.WORKER, "worker_heartbeat_age", "heartbeat_age"),
        (Check.SEALING, "oldest_seal_wait", "oldest_wait"),
    ):
        found = checkup.of(check)
        facts[name] = found[0].facts.get(key) if found else None
    return facts


def _common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"
