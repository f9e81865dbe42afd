"""Operators' commands for access after a collapse: identities, investigators, cases.

Registered on the ``notary`` group by :mod:`notary.cli`; each is a thin wrapper over a service
function, and each administrative act is recorded in the audit trail under ``--operator``.
"""

from __future__ import annotations

from pathlib import Path

import click

from notary.cli.common import emit, json_option, json_text, operator_option, runtime_scope, say, shown


@click.group()
def identity() -> None:
    """Bind a key to an identity an operator has checked in person."""


@identity.command("verify")
@click.option("--id-type", default="cn_resident", show_default=True)
@click.option("--id-number", required=True)
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="The person's public key (PEM), or a key folder holding public.pem.",
)
@operator_option
@json_option
def identity_verify(id_type: str, id_number: str, key_path: Path, operator: str, as_json: bool) -> None:
    """After checking the person's identity document, bind KEY to that identity: its holder then
    sees every contract naming the identity, and later signatures by it carry
    identity_assurance "verified".
    """
    from notary.services.access.key_holders import verification_answer, verify_identity
    from notary.services.clock import now_text

    pem = (key_path / "public.pem" if key_path.is_dir() else key_path).read_bytes()
    with runtime_scope() as rt, rt.db.write() as session:
        verified = verify_identity(
            session,
            rt.pii,
            id_type=id_type,
            id_number=id_number,
            public_key_pem=pem,
            operator=operator,
            now=now_text(rt.clock),
        )
        answer = verification_answer(verified.verification) | {"created": verified.created}
    emit(
        as_json,
        answer,
        f"key {answer['key_fingerprint']} is bound to {shown(answer['id_type'])} {answer['id_number_masked']}",
    )


@identity.command("unbind")
@click.argument("key_fingerprint")
@click.option("--reason", required=True, type=click.Choice(("mistaken", "revoked", "other")))
@click.option("--yes", is_flag=True, help="Unbind without asking.")
@operator_option
@json_option
def identity_unbind(key_fingerprint: str, reason: str, yes: bool, operator: str, as_json: bool) -> None:
    """Undo `identity verify` for KEY_FINGERPRINT (a mistaken binding): the key no longer reads
    contracts naming that identity under other keys. Logged as notary-identity-unbinding/1."""
    with runtime_scope() as rt:
        summary = rt.keys_lifecycle.key_summary(key_fingerprint)
        binding = summary["identity_binding"]
        if binding is not None:
            say(
                f"key {key_fingerprint} is bound to {shown(binding['id_type'])} {shown(binding['id_number_masked'])}"
                f" by {shown(binding['verified_by'])} on {binding['verified_at']}",
                err=as_json,
            )
            if not yes:
                click.confirm(f"Undo this binding ({reason})?", default=False, abort=True, err=as_json)
        unbound = rt.keys_lifecycle.unbind(key_fingerprint, reason=reason, operator=operator)
    answer = unbound.answer()
    emit(
        as_json,
        answer,
        f"key {answer['key_fingerprint']}: identity binding undone (leaf {answer['leaf_index']})",
    )


@click.group()
def investigator() -> None:
    """Investigators (police, courts): they read evidence only through an approved case."""


@investigator.command("add")
@click.argument("name")
@click.option("--agency", required=True, help="The investigator's police force or court.")
@operator_option
@json_option
def investigator_add(name: str, agency: str, operator: str, as_json: bool) -> None:
    """Create an investigator; prints its id and token (shown once)."""
    with runtime_scope() as rt:
        new = rt.investigators.add(name, agency=agency, operator=operator)
    emit(
        as_json,
        {"investigator_id": new.investigator_id, "token": new.token},
        f"investigator {new.investigator_id} ({shown(new.name)}, {shown(new.agency)})\ntoken (shown once): {new.token}",
    )


@investigator.command("revoke")
@click.argument("investigator_id")
@operator_option
@json_option
def investigator_revoke(investigator_id: str, operator: str, as_json: bool) -> None:
    """Revoke every token of an investigator at once (they left, or a token leaked)."""
    with runtime_scope() as rt:
        revoked = rt.investigators.revoke(investigator_id, operator=operator)
    emit(
        as_json,
        {"investigator_id": investigator_id, "tokens_revoked": revoked},
        f"investigator {shown(investigator_id)}: {revoked} token(s) revoked",
    )


@investigator.command("token")
@click.argument("investigator_id")
@operator_option
@json_option
def investigator_token(investigator_id: str, operator: str, as_json: bool) -> None:
    """Issue a new token for an investigator (shown once), e.g. after revoking a leaked one."""
    with runtime_scope() as rt:
        token = rt.investigators.new_token(investigator_id, operator=operator)
    emit(
        as_json,
        {"investigator_id": investigator_id, "token": token},
        f"investigator {shown(investigator_id)}\ntoken (shown once): {token}",
    )


@click.group()
def case() -> None:
    """Investigators' cases."""


@case.command("approve")
@click.argument("case_id")
@click.option("--yes", is_flag=True, help="Approve without asking (after reading the case with case list).")
@operator_option
@json_option
def case_approve(case_id: str, yes: bool, operator: str, as_json: bool) -> None:
    """Show a case's stored scope and what it covers, ask, then approve it: its investigator may
    then read the evidence in its scope. Without --yes, anything but "y" approves nothing.
    """
    with runtime_scope() as rt:
        shown_case = rt.cases.for_approval(case_id)
        # In --json mode stdout carries only the JSON answer; the question goes to stderr.
        say(_case_text(shown_case.case, shown_case.investigator, shown_case.summary), err=as_json)
        if not yes:
            click.confirm("Approve this case and its scope?", default=False, abort=True, err=as_json)
        view = rt.cases.approve(case_id, operator=operator, shown_scope=shown_case.summary["scope"])
    emit(as_json, view, f"case {view['case_id']} approved by {shown(view['approved_by'])}")


def _scope_text(scope: dict[str, str]) -> str:
    return ", ".join(f"{key} {shown(value)}" for key, value in scope.items())


def _case_text(
    view: dict[str, object], investigator: dict[str, str], summary: dict[str, object] | None
) -> str:
    """A case as an operator reads it: every value from outside escaped, one per line."""
    lines = [
        f"{view['case_id']}  {view['status']:<8}  {shown(view['case_number'])}  opened {view['created_at']}"
        f"  by {shown(investigator['name'])} ({shown(investigator['agency'])}, {view['investigator_id']})",
        f"    scope: {_scope_text(view['scope'])}",  # type: ignore[arg-type]
    ]
    if summary is not None:
        lines.append(f"    covers: {shown(summary['covers'])}; {summary['contracts']} contract(s) today")
    lines.append(f"    legal basis: {shown(view['legal_basis'])}")
    return "\n".join(lines)


@case.command("list")
@click.option(
    "--status",
    type=click.Choice(["pending", "approved", "all"]),
    default="pending",
    show_default=True,
    help="Which cases to list.",
)
@json_option
def case_list(status: str, as_json: bool) -> None:
    """List investigators' cases (by default those awaiting approval), oldest first."""
    from notary.services.access.cases import CaseStatus

    with runtime_scope() as rt:
        cases = rt.cases.listing(status=None if status == "all" else CaseStatus(status))
    if as_json:
        click.echo(json_text({"cases": cases}))
        return
    if not cases:
        say(f"no {status} cases" if status != "all" else "no cases")
    for view in cases:
        say(_case_text(view, view["investigator"], None))


COMMANDS = (identity, investigator, case)
