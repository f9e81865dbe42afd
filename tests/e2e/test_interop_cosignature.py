"""Interoperability of cosignatures: Go's golang.org/x/mod/sumdb/note (Debian's package) opens
the checkpoints our witnesses cosign, and our verifier accepts cosignatures made through Go.

Go's note package does the signed-note framing, key names and key IDs; tests/interop/cosigcheck.go
adds only what cosignature/v1 defines on top (the 0x04 key ID, the time, the signed message),
written from the C2SP text. Built in GOPATH mode; skipped without Go and golang.org/x/mod.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.signing.cosigner import Cosigner
from notary.signing.note_signer import NoteSigner
from notary.verify.cosignature import CosignatureInvalid, verify_cosignatures
from notary.verify.note import Checkpoint

GOPATH = Path("/usr/share/gocode")
SOURCE = Path(__file__).resolve().parents[1] / "interop" / "cosigcheck.go"

pytestmark = pytest.mark.skipif(
    shutil.which("go") is None or not (GOPATH / "src/golang.org/x/mod/sumdb/note").exists(),
    reason="Go and golang.org/x/mod (Debian: golang-go, golang-golang-x-mod-dev) are not installed",
)

ORIGIN = "notary.example/contracts/v1"
SEED = bytes(range(32))


@pytest.fixture(scope="module")
def cosigcheck(tmp_path_factory):
    folder = tmp_path_factory.mktemp("go")
    binary = folder / "cosigcheck"
    env = {
        **os.environ,
        "GOPATH": str(GOPATH),
        "GO111MODULE": "off",
        "GOCACHE": str(folder / "cache"),
        "GOFLAGS": "",
    }
    subprocess.run(["go", "build", "-o", str(binary), str(SOURCE)], env=env, check=True, capture_output=True)

    def run(payload: dict) -> dict:
        result = subprocess.run(
            [str(binary)], input=json.dumps(payload), capture_output=True, text=True, check=True
        )
        return json.loads(result.stdout)

    return run


@pytest.mark.slow
def test_go_opens_our_cosignatures_and_we_open_gos(cosigcheck):
    log = NoteSigner(ORIGIN, ed25519.Ed25519PrivateKey.generate())
    witness = Cosigner("witness.example/w1", ed25519.Ed25519PrivateKey.from_private_bytes(SEED))
    body = Checkpoint(ORIGIN, 42, bytes(range(32))).body
    signed = log.sign(body)

    ours = signed + witness.cosign(body, 1_700_000_123)
    opened = cosigcheck({"note": ours, "cosigner_keys": [witness.cosigner_key]})
    assert opened == {
        "cosigned_by": [witness.name],
        "times": {witness.name: 1_700_000_123},
        "text": body.decode(),
    }
    # Go refuses our cosignature on another tree, and a key we published as a note key.
    other = log.sign(Checkpoint(ORIGIN, 43, bytes(range(32))).body)
    assert "error" in cosigcheck(
        {"note": other + witness.cosign(body, 1), "cosigner_keys": [witness.cosigner_key]}
    )
    assert "error" in cosigcheck(
        {
            "note": ours,
            "cosigner_keys": [
                NoteSigner(witness.name, ed25519.Ed25519PrivateKey.from_private_bytes(SEED)).verifier_key
            ],
        }
    )

    # Go cosigns (the same key, through note.Sign): our verifier reads the line and its time,
    # and the line is byte for byte the one our cosigner makes (Ed25519 is deterministic).
    made = cosigcheck(
        {
            "text": body.decode(),
            "name": witness.name,
            "seed": base64.b64encode(SEED).decode(),
            "time": 1_700_000_123,
        }
    )
    go_line = made["note"].split("\n\n", 1)[1]
    found = verify_cosignatures(signed + go_line, [witness.key])
    assert [(item.name, item.timestamp) for item in found] == [(witness.name, 1_700_000_123)]
    assert go_line == witness.cosign(body, 1_700_000_123)
    with pytest.raises(CosignatureInvalid):
        verify_cosignatures(other + go_line, [witness.key])
