"""The verification snippets of docs/webhooks.md, taken from the page as written, on a real
delivery and on corrupted copies of it: Python always, Java when a JDK is installed."""

from __future__ import annotations

import base64
import dataclasses
import re
import shutil
import subprocess

import pytest

from notary.services.webhooks.signature import signature_header
from tests.support.platforms import sign_body
from tests.support.webhook_receiver import Receiver, doc_snippet, python_verifier


@pytest.fixture
def database_url():
    """The snippets check bytes, not storage: SQLite is enough."""
    return ""


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, unsafe_webhook_loopback=True)


@pytest.fixture
def delivery(platform, investor, borrower, runtime, client, clock):
    """One real delivery, as the receiver got it, and the secret it was signed with."""
    receiver = Receiver([], now=lambda: clock().timestamp())
    try:
        created = platform.post(
            "/webhooks", json={"url": receiver.url, "events": ["contract.signed"]}
        ).get_json()
        secret = created["secret"]["secret"]
        receiver.secrets.append(secret)
        filed = platform.file(investor, borrower)
        client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures",
            json=sign_body(investor, filed, "investor"),
        )
        dispatcher = runtime.webhook_dispatcher()
        dispatcher.drain()
        dispatcher.close()
        (got,) = receiver.wait_for(1)
    finally:
        receiver.stop()
    assert got.refusal is None
    header = got.headers["Notary-Signature"]
    t = int(re.match(r"t=([0-9]+),", header).group(1))
    return secret, header, got.body, t


def cases(secret, header, body, t):
    """(name, secret, header, body, now, valid) for the real delivery and its corruptions."""
    older = "whsec_" + "A" * 43
    rotated = signature_header([older, secret], t, body)
    return [
        ("real", secret, header, body, t, True),
        ("rotated-new", secret, rotated, body, t, True),
        ("rotated-old", older, rotated, body, t, True),
        ("tampered", secret, header, body.replace(b"investor", b"borrower"), t, False),
        ("truncated", secret, header, body[:-1], t, False),
        ("wrong-secret", older, header, body, t, False),
        ("stale", secret, header, body, t + 301, False),
        ("early", secret, header, body, t - 301, False),
        ("no-timestamp", secret, header.split(",", 1)[1], body, t, False),
        ("other-t", secret, header.replace(f"t={t}", f"t={t + 1}"), body, t, False),
    ]


def test_the_python_snippet(delivery):
    verify = python_verifier()
    for name, secret, header, body, now, valid in cases(*delivery):
        if valid:
            verify(secret, header, body, now=now)
        else:
            with pytest.raises(ValueError):
                verify(secret, header, body, now=now)
            assert name


_HARNESS = """
public class VerifyWebhook {
%s
    public static void main(String[] args) throws Exception {
        for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of(args[0]))) {
            String[] f = line.split("\\t");
            byte[] body = java.util.Base64.getDecoder().decode(f[3]);
            try {
                verifyNotarySignature(f[1], f[2], body, Long.parseLong(f[4]));
                System.out.println(f[0] + " valid");
            } catch (SecurityException e) {
                System.out.println(f[0] + " invalid");
            }
        }
    }
}
"""


@pytest.mark.skipif(shutil.which("java") is None, reason="no JDK on this machine")
def test_the_java_snippet(delivery, tmp_path):
    snippet = doc_snippet("java")
    imports = "".join(line + "\n" for line in snippet.splitlines() if line.startswith("import "))
    method = "\n".join(line for line in snippet.splitlines() if not line.startswith("import "))
    source = tmp_path / "VerifyWebhook.java"
    source.write_text(imports + _HARNESS % method, encoding="utf-8")
    rows = cases(*delivery)
    table = tmp_path / "cases.tsv"
    table.write_text(
        "".join(
            f"{name}\t{secret}\t{header or '-'}\t{base64.b64encode(body).decode()}\t{now}\n"
            for name, secret, header, body, now, _ in rows
        )
    )
    run = subprocess.run(
        ["java", str(source), str(table)], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:-1] == [
        f"{name} {'valid' if valid else 'invalid'}" for name, *_, valid in rows
    ]
