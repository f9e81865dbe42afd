"""Interoperability: Go's golang.org/x/mod/sumdb (note, tlog), the code of the Go checksum
database, opens the notary's checkpoints and checks its inclusion and consistency proofs.

Built in GOPATH mode from Debian's golang-go and golang-golang-x-mod-dev; skipped without them.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.platforms import sign_body

GOPATH = Path("/usr/share/gocode")
SOURCE = Path(__file__).resolve().parents[1] / "interop" / "tlogcheck.go"

pytestmark = pytest.mark.skipif(
    shutil.which("go") is None or not (GOPATH / "src/golang.org/x/mod/sumdb/tlog").exists(),
    reason="Go and golang.org/x/mod (Debian: golang-go, golang-golang-x-mod-dev) are not installed",
)


@pytest.fixture(scope="module")
def tlogcheck(tmp_path_factory):
    folder = tmp_path_factory.mktemp("go")
    binary = folder / "tlogcheck"
    env = {
        **os.environ,
        "GOPATH": str(GOPATH),
        "GO111MODULE": "off",
        "GOCACHE": str(folder / "cache"),
        "GOFLAGS": "",
    }
    subprocess.run(["go", "build", "-o", str(binary), str(SOURCE)], env=env, check=True, capture_output=True)

    def check(payload: dict) -> dict:
        result = subprocess.run(
            [str(binary)], input=json.dumps(payload), capture_output=True, text=True, check=True
        )
        return json.loads(result.stdout)

    return check


def seal(platform, investor, borrower, runtime, client, count):
    leaves = []
    for i in range(count):
        filed = platform.file(investor, borrower, document=f"contract {i}".encode())
        for role, person in (("investor", investor), ("borrower", borrower)):
            client.post(
                f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
            )
        leaves += runtime.sequencer.seal_pending()
    return leaves


@pytest.mark.slow
def test_go_reads_our_checkpoints_and_proofs(platform, investor, borrower, runtime, client, tlogcheck):
    leaves = seal(platform, investor, borrower, runtime, client, 3)
    runtime.checkpointer.run_once()
    old = client.get("/api/v1/log/checkpoint").get_data(as_text=True)
    leaves += seal(platform, investor, borrower, runtime, client, 4)
    runtime.checkpointer.interval *= 0
    runtime.checkpointer.run_once()
    current = client.get("/api/v1/log/checkpoint").get_data(as_text=True)
    key = client.get("/api/v1/log/key").get_json()["verifier_key"]
    consistency = client.get("/api/v1/log/proof/consistency?first=3&second=7").get_json()["hashes"]
    for leaf in leaves:
        inclusion = client.get(
            f"/api/v1/log/proof/inclusion?leaf_index={leaf.sequence}&tree_size=7"
        ).get_json()
        payload = {
            "verifier_key": key,
            "checkpoint": current,
            "record_base64": base64.b64encode(leaf.record).decode(),
            "leaf_index": leaf.sequence,
            "inclusion": inclusion["hashes"],
            "old_checkpoint": old,
            "consistency": consistency,
        }
        assert tlogcheck(payload) == {
            "verifier_key": "ok",
            "checkpoint": "ok",
            "inclusion": "ok",
            "consistency": "ok",
        }

    # And Go refuses what it should: a changed record, a changed proof, a forged checkpoint.
    payload["record_base64"] = base64.b64encode(leaves[-1].record + b" ").decode()
    assert tlogcheck(payload)["inclusion"] != "ok"
    payload["record_base64"] = base64.b64encode(leaves[-1].record).decode()
    payload["consistency"] = consistency[::-1]
    assert tlogcheck(payload)["consistency"] != "ok"
    forged = current.replace("\n7\n", "\n8\n")
    assert tlogcheck({**payload, "checkpoint": forged})["checkpoint"] != "ok"
