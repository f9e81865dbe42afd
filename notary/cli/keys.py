"""Operators' commands for parties' keys: revoke one, or give a party a new one after checking
the person's identity document. Each shows what it will change and asks, unless ``--yes``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from notary.cli.common import emit, json_option, operator_option, runtime_scope, say, shown
from notary.verify.key_events import REVOCATION_REASONS


@click.group()
def party() -> None:
    """Parties' keys: revocation and rotation."""


def _summary_text(summary: dict[str, Any]) -> str:
    """A key as an operator reads it before acting: every value from outside escaped."""
    lines = [f"key {summary['key_fingerprint']}"]
    for item in summary["parties"]:
        lines.append(
            f"    party {shown(item['party_id'])} on {shown(item['platform']['name'])} "
            f"({shown(item['platform']['platform_id'])}): {shown(item['name'])} "
            f"{shown(item['id_number_masked'])}, key {item['status']}"
        )
    if not summary["parties"]:
        lines.append("    no party has this key")
    binding = summary["identity_binding"]
    if binding is not None:
        lines.append(
            f"    identity bound by {shown(binding['verified_by'])} on {binding['verified_at']}: "
            f"{shown(binding['id_type'])} {shown(binding['id_number_masked'])}"
        )
    return "\n".join(lines)


@party.command("revoke-key")
@click.argument("key_fingerprint")
@click.option("--reason", required=True, type=click.Choice(REVOCATION_REASONS))
@click.option(
    "--party", "party_id", help="Revoke it for this party only (default: every party it is a key of)."
)
@click.option("--yes", is_flag=True, help="Revoke without asking.")
@operator_option
@json_option
def revoke_key(
    key_fingerprint: str, reason: str, party_id: str | None, yes: bool, operator: str, as_json: bool
) -> None:
    """Revoke KEY_FINGERPRINT (lost or stolen): it no longer logs in, signs or enrols; its
    tokens and its identity binding go. Contracts it signed before keep verifying, and their
    bundles say when it was revoked. Logged as notary-key-revocation/1 leaves."""
    with runtime_scope() as rt:
        say(_summary_text(rt.keys_lifecycle.key_summary(key_fingerprint)), err=as_json)
        if not yes:
            click.confirm(f"Revoke this key ({reason})?", default=False, abort=True, err=as_json)
        revoked = rt.keys_lifecycle.revoke_by_operator(
            key_fingerprint, reason=reason, operator=operator, party_id=party_id
        )
    answer = revoked.answer()
    parties = ", ".join(f"{item['party_id']} (leaf {item['leaf_index']})" for item in answer["parties"])
    emit(
        as_json,
        answer,
        f"key {answer['key_fingerprint']} revoked at {answer['revoked_at']}"
        + (f" for {shown(parties)}" if parties else "")
        + ("; its identity binding was undone" if answer["identity_unbound"] else ""),
    )


@party.command("rotate-key")
@click.argument("party_id")
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="The person's new public key (PEM), or a key folder holding public.pem.",
)
@click.option(
    "--proof",
    required=True,
    help="The new key's notary.enrol.v2 proof (base64), made with notary enrol --opening.",
)
@click.option("--id-type", default="cn_resident", show_default=True)
@click.option("--id-number", required=True, help="As read from the person's identity document.")
@click.option("--yes", is_flag=True, help="Rotate without asking.")
@operator_option
@json_option
def rotate_key(
    party_id: str,
    key_path: Path,
    proof: str,
    id_type: str,
    id_number: str,
    yes: bool,
    operator: str,
    as_json: bool,
) -> None:
    """Give PARTY_ID a new key after checking the person's identity document (the old key is
    lost): the same party and identity commitment, logged as a notary-key-rotation/1 leaf.
    The old key is replaced, not revoked: revoke it too (revoke-key) if someone may hold it."""
    from notary.services.keys.lifecycle import NewKey

    pem = (key_path / "public.pem" if key_path.is_dir() else key_path).read_text("ascii", errors="replace")
    with runtime_scope() as rt:
        if not yes:
            say(f"party {shown(party_id)}: new key from {shown(str(key_path))}", err=as_json)
            click.confirm("Replace this party's key?", default=False, abort=True, err=as_json)
        rotated = rt.keys_lifecycle.rotate_by_operator(
            party_id=party_id,
            new_key=NewKey(pem, proof),
            id_type=id_type,
            id_number=id_number,
            operator=operator,
        )
    answer = rotated.answer()
    emit(
        as_json,
        answer,
        f"party {shown(answer['party_id'])}: key {answer['old_key_fingerprint']} replaced by "
        f"{answer['key_fingerprint']} (leaf {answer['leaf_index']})",
    )
