"""Operators' platform commands: ``notary platform add|defunct|token``."""

from __future__ import annotations

import click

from notary.cli.common import emit, operator_option, runtime_scope, shown


@click.group()
def platform() -> None:
    """Register platforms and mark collapsed ones defunct."""


@platform.command("add")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@operator_option
def platform_add(name: str, as_json: bool, operator: str) -> None:
    """Register a platform; prints its id and API token (shown once)."""
    with runtime_scope() as rt:
        new = rt.platforms.add(name, operator=operator)
    emit(
        as_json,
        {"platform_id": new.platform_id, "token": new.token},
        f"platform {new.platform_id} ({shown(new.name)})\ntoken (shown once): {new.token}",
    )


@platform.command("defunct")
@click.argument("platform_id")
@click.option("--json", "as_json", is_flag=True)
@operator_option
def platform_defunct(platform_id: str, as_json: bool, operator: str) -> None:
    """Mark a collapsed platform: its token stops working at once; nothing is deleted."""
    with runtime_scope() as rt:
        marked = rt.platforms.mark_defunct(platform_id, operator=operator)
    result = {"platform_id": marked.platform_id, "status": marked.status, "defunct_at": marked.defunct_at}
    emit(as_json, result, f"platform {shown(platform_id)} is defunct since {marked.defunct_at}")


@platform.command("token")
@click.argument("platform_id")
@click.option("--revoke-others", is_flag=True, help="Revoke every older token of the platform at once.")
@click.option("--json", "as_json", is_flag=True)
@operator_option
def platform_token(platform_id: str, revoke_others: bool, as_json: bool, operator: str) -> None:
    """Issue a new API token for a platform (shown once): rotation, or after a leak."""
    with runtime_scope() as rt:
        issued = rt.platforms.new_token(platform_id, revoke_others=revoke_others, operator=operator)
    emit(
        as_json,
        {"platform_id": platform_id, "token": issued.token, "tokens_revoked": issued.tokens_revoked},
        f"platform {shown(platform_id)}: {issued.tokens_revoked} older token(s) revoked\n"
        f"token (shown once): {issued.token}",
    )
