"""``notary doctor``'s examination, called directly on a real instance (SQLite and PostgreSQL):
each fact that needs action becomes a finding with the right severity and exit code, judged on
the service's clock (certificates, waits) or the machine's (the worker's lease)."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from notary.cli import main
from notary.services.operations.checkup import Check, DiskUsage, Doctor, Severity, Thresholds
from notary.signing.keystore import NOTARY_CERT, REPORT_CERT, read_certificate
from tests.support.bulk import make_signed_contracts

GIB = 1 << 30


def roomy(_path: Path) -> DiskUsage:
    return DiskUsage(total=100 * GIB, used=50 * GIB, free=50 * GIB)


def doctor_for(runtime, **changes) -> Doctor:
    """The runtime's doctor with a roomy disk unless told otherwise (the machine's disk is shared)."""
    return dataclasses.replace(_Options(runtime), **changes).build()


@dataclasses.dataclass
class _Options:
    runtime: object
    disk_usage: object = roomy
    wall: object = time.time
    font: object = None
    thresholds: Thresholds = dataclasses.field(default_factory=Thresholds)

    def build(self) -> Doctor:
        base = self.runtime.doctor
        return Doctor(
            base.db,
            instance_path=base.instance_path,
            key_dir=base.key_dir,
            tsa_roots=base.tsa_roots,
            clock=base.clock,
            lease_duration=base.lease_duration,
            thresholds=self.thresholds,
            font=self.font or base.font,
            wall=self.wall,
            disk_usage=self.disk_usage,
        )


def by_subject(checkup, check):
    return {finding.subject: finding for finding in checkup.of(check)}


def test_a_fresh_instance_with_a_leading_worker_needs_nothing(runtime):
    runtime.worker().run_once()
    checkup = doctor_for(runtime).checkup()
    assert [f.line() for f in checkup.needing_action()] == []
    assert checkup.exit_code == 0
    assert set(by_subject(checkup, Check.CERTIFICATE)) == {
        "notary signer",
        "embedded TSA",
        "report signer",
        "root",
    }
    assert {finding.check for finding in checkup.findings} == {
        Check.KEYS, Check.CERTIFICATE, Check.DISK, Check.MIGRATIONS, Check.WORKER, Check.SEALING, Check.FONT,
    }  # fmt: skip


def test_days_left_count_on_the_service_clock(runtime, clock):
    notary = read_certificate(runtime.settings.key_dir / NOTARY_CERT)
    before = doctor_for(runtime).checkup()
    left = by_subject(before, Check.CERTIFICATE)["notary signer"].facts["days_left"]
    assert left == (notary.not_valid_after_utc - runtime.clock()).days
    clock.advance(days=100)
    after = by_subject(doctor_for(runtime).checkup(), Check.CERTIFICATE)["notary signer"].facts["days_left"]
    assert after == left - 100


def test_certificates_near_their_end_warn_and_exit_1(runtime, clock):
    runtime.worker().run_once()
    notary = read_certificate(runtime.settings.key_dir / NOTARY_CERT)
    # Twenty days before the leaf certificates end: inside the sixty-day warning.
    clock.advance(seconds=(notary.not_valid_after_utc - runtime.clock()).total_seconds() - 20 * 86400)
    checkup = doctor_for(runtime).checkup()
    certificates = by_subject(checkup, Check.CERTIFICATE)
    for leaf in ("notary signer", "embedded TSA", "report signer"):
        assert certificates[leaf].severity is Severity.WARNING
        assert certificates[leaf].facts["days_left"] in (19, 20)
        assert "expires in" in certificates[leaf].message
    assert certificates["root"].severity is Severity.OK
    assert checkup.severity is Severity.WARNING
    assert checkup.exit_code == 1


def test_the_warning_period_is_a_setting(runtime, clock):
    notary = read_certificate(runtime.settings.key_dir / NOTARY_CERT)
    clock.advance(seconds=(notary.not_valid_after_utc - runtime.clock()).total_seconds() - 20 * 86400)
    short = doctor_for(runtime, thresholds=Thresholds(certificate_warning=10 * 86400)).checkup()
    assert by_subject(short, Check.CERTIFICATE)["notary signer"].severity is Severity.OK


def test_an_expired_certificate_is_a_failure_and_exits_2(runtime, clock):
    notary = read_certificate(runtime.settings.key_dir / NOTARY_CERT)
    clock.advance(seconds=(notary.not_valid_after_utc - runtime.clock()).total_seconds() + 86400)
    checkup = doctor_for(runtime).checkup()
    signer = by_subject(checkup, Check.CERTIFICATE)["notary signer"]
    assert signer.severity is Severity.FAILURE
    assert signer.facts["days_left"] == -1
    assert "expired on" in signer.message
    assert checkup.exit_code == 2


def test_a_missing_certificate_fails_but_a_missing_report_certificate_only_warns(runtime):
    (runtime.settings.key_dir / REPORT_CERT).unlink()
    report = by_subject(doctor_for(runtime).checkup(), Check.CERTIFICATE)["report signer"]
    assert (report.severity, "notary init" in report.message) == (Severity.WARNING, True)
    (runtime.settings.key_dir / NOTARY_CERT).unlink()
    checkup = doctor_for(runtime).checkup()
    assert by_subject(checkup, Check.CERTIFICATE)["notary signer"].severity is Severity.FAILURE
    assert checkup.of(Check.KEYS)[0].severity is Severity.FAILURE


def test_external_authority_roots_are_examined_too(runtime, tmp_path):
    roots = tmp_path / "tsa-roots.pem"
    roots.write_bytes((runtime.settings.key_dir / "root-ca.pem").read_bytes())
    doctor = doctor_for(runtime)
    doctor.tsa_roots = str(roots)
    external = by_subject(doctor.checkup(), Check.CERTIFICATE)["TSA root Notary Root CA"]
    assert external.severity is Severity.OK
    doctor.tsa_roots = str(tmp_path / "absent.pem")
    unreadable = by_subject(doctor.checkup(), Check.CERTIFICATE)["timestamp authority roots"]
    assert unreadable.severity is Severity.FAILURE


@pytest.mark.parametrize(
    ("free", "severity"),
    [(50 * GIB, Severity.OK), (GIB // 2, Severity.WARNING), (GIB // 20, Severity.FAILURE)],
)
def test_free_disk_space(runtime, free, severity):
    def usage(_path):
        return DiskUsage(total=100 * GIB, used=100 * GIB - free, free=free)

    finding = doctor_for(runtime, disk_usage=usage).checkup().of(Check.DISK)[0]
    assert finding.severity is severity
    assert finding.facts["free_bytes"] == free


def test_the_worker_heartbeat_on_the_lease(runtime):
    never = doctor_for(runtime).checkup()
    assert never.of(Check.WORKER)[0].severity is Severity.FAILURE
    assert never.exit_code == 2
    runtime.worker(holder="host-a:1").run_once()
    leading = doctor_for(runtime).checkup().of(Check.WORKER)[0]
    assert leading.severity is Severity.OK
    assert leading.facts["holder"] == "host-a:1"
    assert 0 <= leading.facts["heartbeat_age"] < runtime.settings.lease_duration
    # The same lease seen a minute later: nobody renewed it, the worker is gone.
    later = doctor_for(runtime, wall=lambda: time.time() + 60).checkup().of(Check.WORKER)[0]
    assert later.severity is Severity.FAILURE
    assert "lapsed" in later.message
    assert later.facts["heartbeat_age"] >= 60


def test_a_worker_that_gave_up_its_lease_is_reported_stopped(runtime):
    worker = runtime.worker(holder="host-a:2")
    worker.run_once()
    worker.lease.release()
    finding = doctor_for(runtime).checkup().of(Check.WORKER)[0]
    assert finding.severity is Severity.FAILURE
    assert "gave up the lease" in finding.message


def test_contracts_waiting_too_long_to_be_sealed_warn(runtime, clock):
    worker = runtime.worker()
    make_signed_contracts(runtime, 2)
    fresh = doctor_for(runtime).checkup().of(Check.SEALING)[0]
    assert (fresh.severity, fresh.facts["waiting"]) == (Severity.OK, 2)
    clock.advance(minutes=11)
    stale = doctor_for(runtime).checkup().of(Check.SEALING)[0]
    assert stale.severity is Severity.WARNING
    assert stale.facts["oldest_wait"] >= 660
    worker.run_once()
    worker.lease.release()
    sealed = doctor_for(runtime).checkup().of(Check.SEALING)[0]
    assert (sealed.severity, sealed.facts["waiting"]) == (Severity.OK, 0)


def test_a_schema_behind_the_code_is_a_failure(runtime):
    with runtime.db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0009'"))
    finding = doctor_for(runtime).checkup().of(Check.MIGRATIONS)[0]
    assert finding.severity is Severity.FAILURE
    assert finding.facts["current"] == "0009"
    assert finding.facts["head"] > "0009"
    assert "notary init" in finding.message


def test_a_missing_font_is_a_failure_in_both_depths(runtime, tmp_path):
    doctor = doctor_for(runtime, font=(tmp_path / "absent.ttc", 0))
    for deep in (True, False):
        finding = doctor.checkup(deep=deep).of(Check.FONT)[0]
        assert finding.severity is Severity.FAILURE
        assert "fonts-wqy-zenhei" in finding.message
    garbage = tmp_path / "garbage.ttc"
    garbage.write_bytes(b"not a font at all")
    deep = doctor_for(runtime, font=(garbage, 0)).checkup(deep=True).of(Check.FONT)[0]
    assert deep.severity is Severity.FAILURE


def test_a_missing_instance_is_one_failure(runtime, tmp_path):
    doctor = doctor_for(runtime)
    doctor.instance_path = tmp_path / "nowhere"
    checkup = doctor.checkup()
    assert [(f.check, f.severity) for f in checkup.findings] == [(Check.INSTANCE, Severity.FAILURE)]


def test_healthz_carries_the_checkup_in_short(runtime, client, clock):
    runtime.worker().run_once()
    body = client.get("/api/v1/healthz").get_json()
    assert body["status"] == "ok"
    assert body["checks"]["worker"] == "ok"
    assert body["checks"]["migrations"] == "ok"
    assert body["certificate_days_left"]["notary signer"] > 60
    assert body["disk_free_bytes"] > 0
    assert body["worker_heartbeat_age"] is not None
    assert "keys" not in body["checks"]  # healthz does not reload private keys on every call
    notary = read_certificate(runtime.settings.key_dir / NOTARY_CERT)
    clock.advance(seconds=(notary.not_valid_after_utc - runtime.clock()).total_seconds() - 5 * 86400)
    later = client.get("/api/v1/healthz")
    assert later.status_code == 200  # still serving: an operator must act, the process is usable
    body = later.get_json()
    assert body["checkup"] in ("warning", "failure")
    assert body["checks"]["certificate"] == "warning"
    assert body["certificate_days_left"]["notary signer"] in (4, 5)
    # Public answer: no host names or paths.
    flat = json.dumps(body)
    assert str(runtime.settings.instance_path) not in flat
    assert "holder" not in flat


@pytest.mark.wallclock  # the CLI builds its doctor on the machine's clock
def test_the_command_prints_a_line_per_finding_and_exits_by_severity(runtime, settings):
    env = {"NOTARY_INSTANCE_PATH": str(settings.instance_path), "NOTARY_DATABASE_URL": settings.database_url}
    # Generous disk threshold off: the machine's disk is shared and may be full-ish; 1 byte minimum.
    env["NOTARY_DISK_FREE_MIN"] = "1"
    stopped = CliRunner().invoke(main, ["doctor"], env=env)
    assert stopped.exit_code == 2, stopped.output
    lines = stopped.stdout.strip().splitlines()
    assert any(line.startswith("failure  worker") for line in lines)
    assert lines[-1] == "1 finding(s) need action"
    runtime.worker().run_once()
    ok = CliRunner().invoke(main, ["doctor", "--json"], env=env)
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.stdout)
    assert report["severity"] == "ok"
    assert {finding["check"] for finding in report["findings"]} >= {"certificate", "worker", "font", "disk"}
