"""The ``Notary-Signature`` header: the worked example of docs/webhooks.md, byte for byte,
checked three ways (the notary's code, ``openssl dgst -hmac``, the documented Python snippet),
and the snippet's refusals of corrupted deliveries."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from notary.services.webhooks.signature import new_secret, signature_header, signed_content
from tests.support.webhook_receiver import DOC, python_verifier

TEXT = DOC.read_text(encoding="utf-8")
SECRET = re.search(r"Secret\s+`(whsec_[A-Za-z0-9_-]+)`", TEXT).group(1)
OLDER = re.search(r"older live secret `(whsec_[A-Za-z0-9_-]+)`", TEXT).group(1)
T = int(re.search(r"`t` = `([0-9]+)`", TEXT).group(1))
BODY = re.search(r"## Events.*?```json\n(.*?)\n```", TEXT, flags=re.S).group(1).encode()
HEADER = re.search(r"```\nNotary-Signature: (t=[0-9]+,v1=[0-9a-f]{64})\n```", TEXT).group(1)
ROTATED = re.search(r"header is `(t=[0-9]+,v1=[0-9a-f]{64},v1=)", TEXT).group(1)
verify = python_verifier()


def test_the_worked_example_is_reproduced():
    assert len(BODY) == int(re.search(r"the ([0-9]+) bytes of the example event", TEXT).group(1)) == 424
    assert signature_header([SECRET], T, BODY) == HEADER
    assert signed_content(T, BODY) == b"1796112005." + BODY
    rotated = signature_header([OLDER, SECRET], T, BODY)
    assert rotated.startswith(ROTATED)
    assert rotated.endswith(HEADER.split(",")[1])


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_computes_the_same_mac():
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", SECRET],
        input=signed_content(T, BODY),
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert out.strip().endswith(HEADER.split("v1=")[1])


def test_the_documented_snippet_accepts_the_example_and_either_rotated_secret():
    verify(SECRET, HEADER, BODY, now=T)
    verify(SECRET, HEADER, BODY, now=T + 300)
    rotated = signature_header([OLDER, SECRET], T, BODY)
    verify(SECRET, rotated, BODY, now=T)
    verify(OLDER, rotated, BODY, now=T)


@pytest.mark.parametrize(
    ("secret", "header", "body", "now", "error"),
    [
        (SECRET, HEADER, BODY.replace(b'"leaf_index":41', b'"leaf_index":42'), T, "no valid signature"),
        (SECRET, HEADER, BODY + b" ", T, "no valid signature"),
        (SECRET, HEADER, BODY[:-1], T, "no valid signature"),
        (SECRET[:-1] + "x", HEADER, BODY, T, "no valid signature"),
        (SECRET, HEADER, BODY, T + 301, "stale or missing timestamp"),
        (SECRET, HEADER, BODY, T - 301, "stale or missing timestamp"),
        (SECRET, HEADER.split(",")[1], BODY, T, "stale or missing timestamp"),
        (SECRET, HEADER.replace("t=1796112005", "t=1796112006"), BODY, T, "no valid signature"),
        (SECRET, HEADER[:-1], BODY, T, "no valid signature"),
        (SECRET, HEADER.replace("v1=", "v0="), BODY, T, "no valid signature"),
        (SECRET, "", BODY, T, "stale or missing timestamp"),
    ],
    ids=[
        "changed-field", "appended", "truncated", "wrong-secret", "stale", "future",
        "no-t", "moved-t", "short-mac", "other-scheme", "empty",
    ],
)  # fmt: skip
def test_the_documented_snippet_refuses_corrupted_deliveries(secret, header, body, now, error):
    with pytest.raises(ValueError, match=error):
        verify(secret, header, body, now=now)


def test_every_delivery_is_signed_and_secrets_are_random():
    with pytest.raises(ValueError, match="at least one secret"):
        signature_header([], T, BODY)
    first, second = new_secret(), new_secret()
    assert first != second
    assert re.fullmatch(r"whsec_[A-Za-z0-9_-]{43}", first)
