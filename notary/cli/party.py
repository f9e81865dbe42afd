"""What a party runs on its own machine: ``notary keygen``, ``notary enrol``, ``notary sign``.

Thin wrappers over :mod:`notary.cli.party_tools`; they need no service and no network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from notary.cli.common import emit, json_text, say, shown


@click.command()
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Folder for the key pair.")
@click.option("--alg", type=click.Choice(["ed25519", "p256"]), default="ed25519", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def keygen(out: Path, alg: str, as_json: bool) -> None:
    """Make a party's key pair (the private key stays in OUT, mode 0600)."""
    from notary.cli import party_tools

    key = party_tools.generate(out, alg)
    emit(
        as_json,
        {"public_key": str(out / party_tools.PUBLIC), "key_fingerprint": key.public.fingerprint},
        f"key pair in {out} ({key.public.algorithm}); fingerprint {key.public.fingerprint}",
    )


@click.command()
@click.option("--key", "key_dir", required=True, type=click.Path(path_type=Path))
@click.option("--platform-id", required=True)
@click.option("--name", required=True)
@click.option("--id-number", required=True)
@click.option("--id-type", default="cn_resident", show_default=True)
@click.option("--phone")
def enrol(
    key_dir: Path, platform_id: str, name: str, id_number: str, id_type: str, phone: str | None
) -> None:
    """Print the JSON body of POST /parties for this key, proof included."""
    from notary.cli import party_tools

    body = party_tools.enrolment_body(
        party_tools.load(key_dir),
        platform_id=platform_id,
        name=name,
        id_number=id_number,
        id_type=id_type,
        phone=phone,
    )
    click.echo(json_text(body))


@click.command()
@click.option("--key", "key_dir", required=True, type=click.Path(path_type=Path))
@click.argument("payload_file", type=click.File("rb"))
@click.option("--login", is_flag=True, help="Sign a login payload (and nothing else).")
@click.option("--document", type=click.File("rb"), help="Your copy of the document: its digest must match.")
@click.option("--json", "as_json", is_flag=True, help="Print the body of POST /contracts/{id}/signatures.")
def sign(key_dir: Path, payload_file: Any, login: bool, document: Any, as_json: bool) -> None:
    """Show what PAYLOAD_FILE commits you to, then sign its exact bytes; prints base64.

    PAYLOAD_FILE holds the payload bytes, or the API's {"payload_base64", ...} answer.
    """
    import hashlib

    from notary.cli import party_tools
    from notary.verify.encoding import b64encode

    payload = party_tools.read_payload(payload_file.read())
    fields = party_tools.describe(payload, allow_login=login)
    key = party_tools.load(key_dir)
    for name, value in fields.items():
        say(f"  {name}: {shown(value)}", err=True)
    if document is not None and not login:
        digest = hashlib.sha256(document.read()).hexdigest()
        if digest != fields["document_sha256"]:
            raise click.ClickException(
                f"your document's SHA-256 is {digest}, not the one in the payload; not signing"
            )
        click.echo("  your copy of the document matches document_sha256", err=True)
    if login and fields["key_fingerprint"] != key.public.fingerprint:
        raise click.ClickException("this login payload names another key")
    signature = b64encode(key.sign(payload))
    if as_json:
        click.echo(json.dumps({"role": fields.get("role"), "signature": signature}))
    else:
        click.echo(signature)
