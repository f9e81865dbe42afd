"""The monitor's alarms. A split view: the log shows one checkpoint to one party and another of the same size to
another. Each witness alone sees a consistent log and cosigns; the monitor, reading both
witnesses' latest cosigned checkpoints, sees two roots for one size and raises the alarm
with both signed checkpoints as its evidence."""

from __future__ import annotations

import json
import urllib.request

from cryptography.hazmat.primitives.asymmetric import ed25519
from flask import Flask, Response, request

from notary.signing.cosigner import Cosigner
from notary.signing.note_signer import NoteSigner
from notary.verify.note import parse_checkpoint, parse_note
from notary.verify.witness_policy import parse_witness_policies
from notary.watch.monitor import BAD_CHECKPOINT, FORK, MISSING_COSIGNATURE, Monitor, Sources, TrustedLogKey
from tests.support.clock import MovableClock
from tests.support.witness import ORIGIN, ServedApp, SmallLog, ThreadedWitness, WebhookReceiver


def log_app(log: SmallLog) -> Flask:
    """The public routes the monitor reads, for one view of the log."""
    app = Flask("split-log")

    @app.get("/api/v1/log/checkpoint")
    def checkpoint() -> Response:
        return Response(log.checkpoint(), content_type="text/plain")

    @app.get("/api/v1/log/proof/consistency")
    def consistency() -> Response:
        first, second = int(request.args["first"]), int(request.args["second"])
        hashes = [h.hex() for h in log.proof(first, second)]
        return Response(json.dumps({"first": first, "second": second, "hashes": hashes}))

    return app


def test_two_views_of_one_size_are_detected(tmp_path):
    clock = MovableClock()
    honest = SmallLog()
    honest.grow(6)
    other = SmallLog(signer=honest.signer, leaves=list(honest.leaves[:4]))
    other.grow(2, tag="other ")  # same size, another root, signed by the same log key
    assert (
        parse_checkpoint(parse_note(honest.checkpoint()).text).root_hash
        != parse_checkpoint(parse_note(other.checkpoint()).text).root_hash
    )

    w1 = ThreadedWitness(
        tmp_path / "w1", "witness.test/w1", ORIGIN, honest.signer.verifier_key, clock
    ).start()
    w2 = ThreadedWitness(
        tmp_path / "w2", "witness.test/w2", ORIGIN, honest.signer.verifier_key, clock
    ).start()
    public = ServedApp(log_app(honest))
    receiver = WebhookReceiver()
    try:
        # Each witness is shown one view; each sees nothing wrong and cosigns.
        for witness, view in ((w1, honest), (w2, other)):
            with urllib.request.urlopen(
                urllib.request.Request(witness.url + "/add-checkpoint", data=view.request(0), method="POST")
            ) as answer:
                assert answer.status == 200
        monitor = Monitor(
            Sources(public.url, (), (w1.url, w2.url)),
            [TrustedLogKey(ORIGIN, honest.signer.verifier)],
            (),
            tmp_path / "monitor.json",
            clock=clock,
            webhook=receiver.url,
        )
        alarms = monitor.round()
        forks = [alarm for alarm in alarms if alarm.kind == FORK]
        assert forks, alarms
        # The evidence: both signed checkpoints, each verifiable with the log's key.
        evidence = set(forks[0].evidence)
        assert any(honest.checkpoint() in item for item in evidence)
        assert any(other.checkpoint() in item for item in evidence)
        assert receiver.received[0]["alarm"] == FORK
    finally:
        for server in (w1, w2, public, receiver):
            server.stop()


def test_a_cosignature_missing_too_long_and_a_bad_checkpoint_raise_alarms(tmp_path):
    clock = MovableClock()
    log = SmallLog()
    log.grow(3)
    absent = Cosigner("witness.test/absent", ed25519.Ed25519PrivateKey.generate())
    policies = parse_witness_policies(
        [{"from_size": 0, "k": 1, "witnesses": [{"name": absent.name, "cosigner_key": absent.cosigner_key}]}]
    )
    public = ServedApp(log_app(log))
    try:
        monitor = Monitor(
            Sources(public.url),
            [TrustedLogKey(ORIGIN, log.signer.verifier)],
            policies,
            tmp_path / "monitor.json",
            clock=clock,
            max_cosign_wait=600,
        )
        assert monitor.round() == []  # below the policy since now: not yet an alarm
        clock.advance(seconds=599)
        assert monitor.round() == []
        clock.advance(seconds=2)
        assert [alarm.kind for alarm in monitor.round()] == [MISSING_COSIGNATURE]

        # The log's key is replaced by another: its checkpoints no longer verify.
        log.signer = NoteSigner(ORIGIN, ed25519.Ed25519PrivateKey.generate())
        assert BAD_CHECKPOINT in {alarm.kind for alarm in monitor.round()}
    finally:
        public.stop()
