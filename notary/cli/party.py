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
    """Print the JSON body of POST /parties for this key, proof included.

    The identity commitment's salt is drawn here, and its opening kept beside the key as
    KEY/opening-<platform id>.json (mode 0600): it is what proves your identity in your
    evidence (`notary verify --opening`). Keep it with the key; nobody else needs it.
    """
    from notary.cli import party_tools

    body = party_tools.enrolment_body(
        party_tools.load(key_dir),
        folder=key_dir,
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
@click.option(
    "--terms",
    "terms_file",
    type=click.File("rb"),
    help="The terms (terms.json) when FILE holds the payload only.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the body of POST /contracts/{id}/signatures.")
def sign(
    key_dir: Path, payload_file: Any, login: bool, document: Any, terms_file: Any, as_json: bool
) -> None:
    """Show what PAYLOAD_FILE commits you to, in words, then sign its exact bytes; prints base64.

    PAYLOAD_FILE is the answer of GET /contracts/{id}/signing-payload (it carries the terms), or
    the payload's bytes with --terms. Refuses when the terms do not hash to the payload's
    terms_sha256, or your document to its document_sha256.
    """
    import hashlib

    from notary.cli import party_tools
    from notary.verify.encoding import b64encode

    file = party_tools.read_signing_file(payload_file.read())
    fields = party_tools.describe(file.payload, allow_login=login)
    key = party_tools.load(key_dir)
    if login:
        for name, value in fields.items():
            say(f"  {name}: {shown(value)}", err=True)
        if fields["key_fingerprint"] != key.public.fingerprint:
            raise click.ClickException("this login payload names another key")
    else:
        _show_contract(party_tools, file, fields, terms_file)
        if document is not None:
            digest = hashlib.sha256(document.read()).hexdigest()
            if digest != fields["document_sha256"]:
                raise click.ClickException(
                    f"your document's SHA-256 is {digest}, not the one in the payload; not signing"
                )
            click.echo("  your copy of the document matches document_sha256", err=True)
        else:
            say("  (give --document YOUR_COPY to check that the document is the one you read)", err=True)
    signature = b64encode(key.sign(file.payload))
    if as_json:
        click.echo(json.dumps({"role": fields.get("role"), "signature": signature}))
    else:
        click.echo(signature)


def _show_contract(party_tools: Any, file: Any, fields: dict[str, Any], terms_file: Any) -> None:
    """Print the contract payload in words; raise when its terms cannot be shown or do not match."""
    from notary.cli.words import line, terms_lines

    decline = fields["purpose"] != "notary.sign.v1"
    act = "DECLINE (a signed refusal of)" if decline else "SIGN"
    say(
        f"You are about to {act} contract {shown(fields['contract_id'])} as the {shown(fields['role'])}.",
        err=True,
    )
    for name, value in fields.items():
        say(f"  {name}: {shown(value)}", err=True)
    terms = file.terms
    if terms_file is not None:
        try:
            terms = json.loads(terms_file.read())
        except ValueError as exc:
            raise click.ClickException(f"--terms is not JSON: {exc}") from exc
    if terms is None:
        raise click.ClickException(
            "this file holds the payload only, not the terms it commits you to. Save the answer of "
            f"GET /api/v1/contracts/{shown(fields['contract_id'])}/signing-payload?role={shown(fields['role'])} "
            "(it carries the terms) and sign that file, or give --terms terms.json; not signing"
        )
    terms = party_tools.check_terms(terms, fields["terms_sha256"])
    platform = file.platform if isinstance(file.platform, dict) else {}
    if platform and platform.get("platform_id") != fields["platform_id"]:
        raise click.ClickException("the platform shown is not the payload's platform; not signing")
    say("What you commit to (each value exactly as signed; derived forms in brackets):", err=True)
    if platform:
        say(line("platform", f"{shown(platform.get('name', ''))} ({shown(fields['platform_id'])})"), err=True)
    counterparty = file.counterparty if isinstance(file.counterparty, dict) else {}
    if counterparty:
        say(
            line(
                "counterparty",
                f"the {shown(counterparty.get('role', ''))} {shown(counterparty.get('name', ''))} "
                f"(party {shown(counterparty.get('party_id', ''))}), as the notary names them",
            ),
            err=True,
        )
    for text in terms_lines(terms):
        say(text, err=True)
    say("  the terms above hash to the payload's terms_sha256", err=True)
