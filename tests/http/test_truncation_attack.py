"""Issue 21's attack, end to end: a malicious operator cuts the log back and lets it grow again.

Two witnesses, a mirror and a monitor watch the notary over real HTTP. The operator deletes
everything from a leaf on (contracts, signatures, certificates, audit anchors, checkpoints,
tokens, cosignatures) and restarts. Then: the witnesses refuse the rolled-back checkpoint and
keep it as evidence; the mirror and the monitor raise the alarm (the monitor also by webhook);
a person holding a bundle from before gets INVALID from ``notary verify --online``, with the
rollback named; the mirror still proves the bundle's record once the notary is gone.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from notary.cli import main
from notary.runtime import Runtime
from notary.services.tlog.published import MARK_NAME
from notary.verify.merkle.proofs import leaf_hash, verify_inclusion
from notary.verify.note import parse_checkpoint, parse_note
from notary.verify.witness_policy import parse_witness_policies
from notary.watch.mirror.app import mirror_app
from notary.watch.mirror.store import MirrorStore
from notary.watch.mirror.sync import MirrorSync
from notary.watch.monitor import ROLLBACK, Monitor, Sources, trust_for_monitor
from tests.http.test_witness_collection import seal_one, settings, witnesses, work_until  # noqa: F401
from tests.support.evidence import members
from tests.support.platforms import sign_body
from tests.support.witness import ServedApp, WebhookReceiver, truncate_log


def wait_for(condition, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read()


@pytest.fixture
def served(app):
    notary = ServedApp(app)
    yield notary
    notary.stop()


@pytest.mark.slow
@pytest.mark.wallclock  # notary verify through the CLI reads the machine's clock
def test_truncation_is_refused_by_witnesses_and_raised_by_mirror_monitor_and_verify(
    platform,
    investor,
    borrower,
    runtime,
    client,
    witnesses,  # noqa: F811 - the fixture imported above
    settings,  # noqa: F811 - the fixture imported above
    served,
    clock,
    tmp_path,
):
    # An honest history: ten contracts, cosigned by both witnesses.
    first = [seal_one(platform, investor, borrower, runtime, client) for _ in range(6)]
    work_until(runtime, platform, first[-1], "cosigned")
    later = [seal_one(platform, investor, borrower, runtime, client) for _ in range(4)]
    work_until(runtime, platform, later[-1], "cosigned")
    victim = first[3]
    evidence = platform.get(f"/contracts/{victim}").get_json()["evidence"]
    cut = evidence["leaf_index"]
    bundle = platform.get(f"/contracts/{victim}/evidence").get_data()
    (tmp_path / "bundle.zip").write_bytes(bundle)
    trust = client.get("/api/v1/trust").get_json()
    (tmp_path / "trust.json").write_text(json.dumps(trust))
    policies = [
        {
            "from_size": 0,
            "k": 2,
            "witnesses": [{"name": w.name, "cosigner_key": w.cosigner.cosigner_key} for w in witnesses],
        }
    ]
    log_keys, parsed = trust_for_monitor(json.dumps({**trust, "witness_policies": policies}).encode())
    honest_size = int(get(served.url + "/api/v1/log/checkpoint").split(b"\n")[1])
    assert honest_size > cut + 4

    mirror_store = MirrorStore(tmp_path / "mirror.db")
    mirror = MirrorSync(mirror_store, served.url, log_keys, clock=clock)
    assert mirror.sync_once().alarm is None
    mirror_served = ServedApp(mirror_app(mirror_store))
    receiver = WebhookReceiver()
    monitor = Monitor(
        Sources(served.url, [mirror_served.url], [w.url for w in witnesses]),
        log_keys,
        parsed,
        tmp_path / "monitor.json",
        clock=clock,
        webhook=receiver.url,
    )
    try:
        assert monitor.round() == []
        assert receiver.received == []

        # The attack: everything from the victim's leaf on is deleted; the notary restarts.
        truncate_log(runtime.db, cut)
        # The operator also removes the instance's own mark of what it published (issue 23's start
        # guard): it is in the same folder, under the same hands; only outsiders can catch this.
        for mark in Path(settings.instance_path).glob(f"{MARK_NAME}*"):
            mark.unlink()
        restarted = Runtime(settings, clock=clock, web=True)
        try:
            for _ in range(2):
                filed = platform.file(investor, borrower)
                for role, person in (("investor", investor), ("borrower", borrower)):
                    client.post(
                        f"/api/v1/contracts/{filed['contract_id']}/signatures",
                        json=sign_body(person, filed, role),
                    )
            restarted.checkpointer.interval *= 0
            worker = restarted.worker(holder="restarted")

            def refused() -> bool:
                worker.run_once()
                return all(json.loads(get(w.url + "/evidence")) for w in witnesses)

            wait_for(refused)
        finally:
            restarted.close()
        rewritten_size = int(get(served.url + "/api/v1/log/checkpoint").split(b"\n")[1])
        assert rewritten_size < honest_size

        # 1. The witnesses refused it, kept it, and still hold the honest size.
        for witness in witnesses:
            kept = json.loads(get(witness.url + "/evidence"))
            assert {item["kind"] for item in kept} == {"rollback"}
            assert all(f"\n{honest_size}\n" in item["previous"] for item in kept)
            latest = get(
                witness.url
                + "/checkpoint?"
                + urllib.parse.urlencode({"origin": settings.effective_log_origin})
            )
            assert latest.split(b"\n")[1] == str(honest_size).encode()

        # 2. The mirror raises the alarm and keeps what it checked.
        synced = mirror.sync_once()
        assert synced.alarm == ROLLBACK
        assert synced.tree_size == honest_size
        assert [alarm["kind"] for alarm in mirror_store.alarms()] == [ROLLBACK]

        # 3. The monitor raises it: a log line, the webhook, and an alarm that holds.
        alarms = monitor.round()
        assert ROLLBACK in {alarm.kind for alarm in alarms}
        assert ROLLBACK in {body["alarm"] for body in receiver.received}
        assert monitor.round()  # still alarming; the webhook got it once
        assert [body["alarm"] for body in receiver.received].count(ROLLBACK) == 1

        # 4. The older bundle with the notary's own newer checkpoint: INVALID, rollback named.
        runner = CliRunner()
        result = runner.invoke(
            main,
            [
                "verify",
                str(tmp_path / "bundle.zip"),
                "--trust",
                str(tmp_path / "trust.json"),
                "--online",
                served.url,
            ],
        )
        assert result.exit_code == 1, result.output
        assert "INVALID" in result.output
        assert "log_rolled_back" in result.output

        # 5. The notary is gone: the mirror still proves the victim's record, and the bundle
        #    verifies online against the mirror (its honest tree).
        served.stop()
        record_sha256 = evidence["record_sha256"]
        presence = json.loads(get(f"{mirror_served.url}/api/v1/r/{record_sha256}"))
        assert presence["leaf_index"] == cut
        root = parse_checkpoint(parse_note(presence["checkpoint"]).text).root_hash
        verify_inclusion(
            leaf_hash=leaf_hash(members(bundle)["record.json"]),
            leaf_index=cut,
            tree_size=presence["tree_size"],
            proof=[bytes.fromhex(h) for h in presence["hashes"]],
            root=root,
        )
        result = runner.invoke(
            main,
            [
                "verify",
                str(tmp_path / "bundle.zip"),
                "--trust",
                str(tmp_path / "trust.json"),
                "--online",
                mirror_served.url,
            ],
        )
        assert result.exit_code == 0, result.output
        assert parse_witness_policies(policies)
    finally:
        mirror_served.stop()
        receiver.stop()
