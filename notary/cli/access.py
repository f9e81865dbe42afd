"""Operators' commands for access after a collapse: identities, investigators, cases, the audit.

Registered on the ``notary`` group by :mod:`notary.cli`; each is a thin wrapper over a service
function, and each administrative act is recorded in the audit trail under ``--operator``.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click


def default_operator() -> str:
    """The operator's name when ``--operator`` is not given: the login name of the shell."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def operator_option(function: Any) -> Any:
    return click.option(
        "--operator",
        default=default_operator,
        show_default="your login name",
        help="Who acts (recorded in the audit trail).",
    )(function)


def _json_option(function: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")(function)


@contextmanager
def runtime_scope() -> Iterator[Any]:
    """The process's runtime for one command, its connections closed when the command ends."""
    from notary.cli import _runtime as build

    rt = build()
    try:
        yield rt
    finally:
        rt.close()


def _emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False) if as_json else text)


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
@_json_option
def identity_verify(id_type: str, id_number: str, key_path: Path, operator: str, as_json: bool) -> None:
    """After checking the person's identity document, bind KEY to that identity: its holder then
    sees every contract naming the identity, and later signatures by it carry
    identity_assurance "verified".
    """
    from notary.services.access.key_holders import verification_answer, verify_identity
    from notary.services.clock import stamp

    pem = (key_path / "public.pem" if key_path.is_dir() else key_path).read_bytes()
    with runtime_scope() as rt, rt.db.write() as session:
        verified = verify_identity(
            session,
            rt.pii,
            id_type=id_type,
            id_number=id_number,
            public_key_pem=pem,
            operator=operator,
            now=stamp(rt.clock),
        )
        answer = verification_answer(verified.verification) | {"created": verified.created}
    _emit(
        as_json,
        answer,
        f"key {answer['key_fingerprint']} is bound to {answer['id_type']} {answer['id_number_masked']}",
    )


@click.group()
def investigator() -> None:
    """Investigators (police, courts): they read evidence only through an approved case."""


@investigator.command("add")
@click.argument("name")
@click.option("--agency", required=True, help="The investigator's police force or court.")
@operator_option
@_json_option
def investigator_add(name: str, agency: str, operator: str, as_json: bool) -> None:
    """Create an investigator; prints its id and token (shown once)."""
    from notary.services.access.cases import add_investigator
    from notary.services.clock import stamp

    with runtime_scope() as rt, rt.db.write() as session:
        new = add_investigator(session, name, agency=agency, operator=operator, now=stamp(rt.clock))
    _emit(
        as_json,
        {"investigator_id": new.investigator_id, "token": new.token},
        f"investigator {new.investigator_id} ({new.name}, {new.agency})\ntoken (shown once): {new.token}",
    )


@investigator.command("revoke")
@click.argument("investigator_id")
@operator_option
@_json_option
def investigator_revoke(investigator_id: str, operator: str, as_json: bool) -> None:
    """Revoke every token of an investigator at once (they left, or a token leaked)."""
    from notary.services.access.cases import revoke_investigator
    from notary.services.clock import stamp

    with runtime_scope() as rt, rt.db.write() as session:
        revoked = revoke_investigator(session, investigator_id, operator=operator, now=stamp(rt.clock))
    _emit(
        as_json,
        {"investigator_id": investigator_id, "tokens_revoked": revoked},
        f"investigator {investigator_id}: {revoked} token(s) revoked",
    )


@investigator.command("token")
@click.argument("investigator_id")
@operator_option
@_json_option
def investigator_token(investigator_id: str, operator: str, as_json: bool) -> None:
    """Issue a new token for an investigator (shown once), e.g. after revoking a leaked one."""
    from notary.services.access.cases import new_investigator_token
    from notary.services.clock import stamp

    with runtime_scope() as rt, rt.db.write() as session:
        token = new_investigator_token(session, investigator_id, operator=operator, now=stamp(rt.clock))
    _emit(
        as_json,
        {"investigator_id": investigator_id, "token": token},
        f"investigator {investigator_id}\ntoken (shown once): {token}",
    )


@click.group()
def case() -> None:
    """Investigators' cases."""


@case.command("approve")
@click.argument("case_id")
@operator_option
@_json_option
def case_approve(case_id: str, operator: str, as_json: bool) -> None:
    """Approve an investigator's case: its investigator may then read the evidence in its scope."""
    from notary.services.access.cases import approve_case, case_view
    from notary.services.clock import stamp

    with runtime_scope() as rt, rt.db.write() as session:
        view = case_view(approve_case(session, case_id, operator=operator, now=stamp(rt.clock)))
    scope = ", ".join(f"{key} {value}" for key, value in view["scope"].items())
    _emit(
        as_json,
        view,
        f"case {view['case_id']} ({view['case_number']}) approved by {view['approved_by']}; scope: {scope}",
    )


@case.command("list")
@click.option(
    "--status",
    type=click.Choice(["pending", "approved", "all"]),
    default="pending",
    show_default=True,
    help="Which cases to list.",
)
@_json_option
def case_list(status: str, as_json: bool) -> None:
    """List investigators' cases (by default those awaiting approval), oldest first."""
    from notary.services.access.cases import list_cases

    with runtime_scope() as rt, rt.db.read() as session:
        cases = list_cases(session, status=None if status == "all" else status)
    if as_json:
        click.echo(json.dumps({"cases": cases}, ensure_ascii=False))
        return
    if not cases:
        click.echo(f"no {status} cases" if status != "all" else "no cases")
    for view in cases:
        scope = ", ".join(f"{key} {value}" for key, value in view["scope"].items())
        who = view["investigator"]
        click.echo(
            f"{view['case_id']}  {view['status']:<8}  {view['case_number']}  opened {view['created_at']}"
            f"  by {who['name']} ({who['agency']}, {view['investigator_id']})\n"
            f"    scope: {scope}\n    legal basis: {view['legal_basis']}"
        )


class _Quiet:
    def update(self, n_steps: int) -> None:
        pass


@contextmanager
def _progress_bar(label: str, total: int) -> Iterator[Any]:
    # A bar only where someone watches (a terminal) and the store is large enough to wait for.
    if total < 1000 or not sys.stderr.isatty():
        yield _Quiet()
        return
    with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True) as bar:
        yield bar


@click.command("audit")
@_json_option
def audit(as_json: bool) -> None:
    """Recompute every hash of the documents, records, chain, tree, checkpoints and audit trail from
    storage and report the first divergence. Exit status 0 when clean, 1 at a divergence.
    """
    from notary.services.audit.integrity import default_auditors, run_audit
    from notary.verify.note import parse_verifier_key

    with runtime_scope() as rt:
        auditors = default_auditors(
            rt.blobs,
            log_origin=rt.log_signer.name,
            log_verifier_keys=[parse_verifier_key(rt.log_signer.verifier_key)],
        )
        report = run_audit(rt.db, auditors, progress=_progress_bar)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        for result in report.results:
            status = "ok" if result.divergence is None else "DIVERGED"
            click.echo(f"{status:9}{result.name:18}{result.checked} checked")
        first = report.divergence
        if first is None:
            click.echo("clean: every hash re-derived from storage agrees")
        else:
            click.echo(f"first divergence: {first.check}: {first.what} {first.where}: {first.message}")
            if first.expected is not None:
                click.echo(f"  expected {first.expected}\n  found    {first.found}")
    sys.exit(0 if report.clean else 1)


COMMANDS = (identity, investigator, case, audit)
