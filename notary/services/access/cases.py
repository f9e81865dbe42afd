"""Investigators and their cases: no access without an approved case, and only within its scope.

A case names a case number, a legal basis and one scope: a platform, a party, or a person by
ID number on every platform (kept as the keyed lookup hash and a masked form, never in clear).
An operator approves it (``notary case approve``). :func:`scope_condition` is the one
definition of what a case covers, for single reads and (later) for the case export alike.

Opening a case answers an unknown platform or party id exactly as a known one (round2-notes):
otherwise a pending case would tell an investigator which ids exist before anyone approved
anything. The operator sees at approval what the scope names (:func:`scope_summary`), and a
scope that names nothing cannot be approved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from notary.errors import Conflict, Forbidden, NotFound, Unprocessable
from notary.services import auth
from notary.services.audit import trail as audit
from notary.services.ceremony import identity
from notary.services.text import check_text
from notary.storage.access_models import Case, Investigator
from notary.storage.ids import CASE, new_id
from notary.storage.models import Contract, LogLeaf, Party, Platform


class CaseStatus(StrEnum):
    """A case waits for an operator's approval; only an approved case opens anything."""

    PENDING = "pending"
    APPROVED = "approved"


PENDING, APPROVED = CaseStatus.PENDING, CaseStatus.APPROVED
PLATFORM_SCOPE, PARTY_SCOPE, PERSON_SCOPE = "platform", "party", "person"


_SCOPE_ID = re.compile(r"[A-Za-z0-9_]{1,40}", re.ASCII)


class CasePending(Forbidden):
    """The case exists and is the caller's, but no operator has approved it yet."""

    code = "forbidden"


class ScopeUnknown(Unprocessable):
    """The case's scope names a platform or party that does not exist: it cannot be approved."""

    code = "scope_unknown"


class ScopeNotAsShown(Conflict):
    """The scope the operator was shown is not the case's scope (approve what you read)."""

    code = "scope_not_as_shown"


def open_case(
    session: Session,
    cipher: identity.PiiCipher,
    *,
    investigator_id: str,
    case_number: str,
    legal_basis: str,
    scope: Mapping[str, Any],
    now: str,
) -> Case:
    """Open a case (status ``pending``). Raises ``validation_failed`` (a scope that is not exactly
    one of ``{platform_id}``, ``{party_id}``, ``{id_type?, id_number}``, or names nothing) or
    ``bad_id_number``.
    """
    case_number = check_text(case_number, field="case_number").strip()
    legal_basis = check_text(legal_basis, field="legal_basis").strip()
    if not case_number or not legal_basis:
        raise Unprocessable(
            "a case needs a case number and a legal basis",
            details={"case_number" if not case_number else "legal_basis": ["required"]},
        )
    case = Case(
        id=new_id(CASE),
        investigator_id=investigator_id,
        case_number=case_number,
        legal_basis=legal_basis,
        status=PENDING,
        created_at=now,
    )
    _set_scope(session, cipher, case, scope)
    session.add(case)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=audit.Actor(auth.INVESTIGATOR, investigator_id),
        action="case.open",
        object_kind="case",
        object_id=case.id,
        case_id=case.id,
        details={"case_number": case_number, "scope": scope_view(case)},
    )
    return case


def _set_scope(session: Session, cipher: identity.PiiCipher, case: Case, scope: Mapping[str, Any]) -> None:
    keys = set(scope)
    # Whether the id exists is not checked here (see the module): only its form.
    if keys == {"platform_id"} and isinstance(scope["platform_id"], str):
        case.scope_kind, case.scope_platform_id = PLATFORM_SCOPE, _scope_id(scope, "platform_id")
    elif keys == {"party_id"} and isinstance(scope["party_id"], str):
        case.scope_kind, case.scope_party_id = PARTY_SCOPE, _scope_id(scope, "party_id")
    elif "id_number" in keys and keys <= {"id_type", "id_number"}:
        id_type, number = scope.get("id_type", "cn_resident"), scope["id_number"]
        if not isinstance(id_type, str) or not isinstance(number, str):
            raise Unprocessable("id_type and id_number are strings", details={"scope": ["strings"]})
        number = identity.check_id_number(id_type, number)
        case.scope_kind, case.scope_id_type = PERSON_SCOPE, id_type
        case.scope_id_lookup = cipher.lookup(id_type, number)
        case.scope_id_masked = identity.mask_id_number(id_type, number)
    else:
        raise Unprocessable(
            "scope is one of {platform_id}, {party_id} or {id_type?, id_number}",
            details={"scope": ["exactly one of platform_id, party_id, id_number"]},
        )


def _scope_id(scope: Mapping[str, Any], name: str) -> str:
    value = str(scope[name])
    if not _SCOPE_ID.fullmatch(value):
        raise Unprocessable(
            f"scope.{name} is an id: 1 to 40 ASCII letters, digits and _",
            details={f"scope.{name}": ["1 to 40 ASCII letters, digits and _"]},
        )
    return value


def scope_view(case: Case) -> dict[str, str]:
    """The scope as shown: ids, or the ID type and masked number (never the clear number)."""
    if case.scope_kind == PLATFORM_SCOPE:
        return {"platform_id": str(case.scope_platform_id)}
    if case.scope_kind == PARTY_SCOPE:
        return {"party_id": str(case.scope_party_id)}
    return {"id_type": str(case.scope_id_type), "id_number_masked": str(case.scope_id_masked)}


def case_view(case: Case) -> dict[str, Any]:
    """``GET /cases/{id}``."""
    view: dict[str, Any] = {
        "case_id": case.id,
        "investigator_id": case.investigator_id,
        "case_number": case.case_number,
        "legal_basis": case.legal_basis,
        "scope": scope_view(case),
        "status": case.status,
        "created_at": case.created_at,
    }
    if case.approved_at is not None:
        view["approved_at"] = case.approved_at
        view["approved_by"] = case.approved_by
    return view


def list_cases(session: Session, *, status: str | None = None) -> list[dict[str, Any]]:
    """Every case (or those with ``status``), oldest first, each as :func:`case_view` with its
    investigator's name and agency: what an operator reads before approving one."""
    query = select(Case, Investigator).join(Investigator, Investigator.id == Case.investigator_id)
    if status is not None:
        query = query.where(Case.status == status)
    rows = session.execute(query.order_by(Case.created_at, Case.id)).all()
    return [
        {**case_view(case), "investigator": {"name": person.name, "agency": person.agency}}
        for case, person in rows
    ]


def own_case_for_operator(session: Session, case_id: str) -> tuple[Case, dict[str, str]]:
    """A case and its investigator's name and agency, for an operator; raises ``not_found``."""
    row = session.execute(
        select(Case, Investigator)
        .join(Investigator, Investigator.id == Case.investigator_id)
        .where(Case.id == case_id)
    ).first()
    if row is None:
        raise NotFound(f"no case {case_id}")
    case, person = row
    return case, {"name": person.name, "agency": person.agency}


def own_case(session: Session, case_id: str, *, investigator_id: str) -> Case:
    """The investigator's own case; another's is :class:`NotFound`, like a missing one."""
    case = session.get(Case, case_id)
    if case is None or case.investigator_id != investigator_id:
        raise NotFound("no such case")
    return case


def scope_summary(session: Session, case: Case) -> dict[str, Any]:
    """What a case's scope names and covers, as stored, for the operator who approves it:
    ``scope`` (:func:`scope_view`), ``covers`` (one sentence), ``known`` (False when the
    platform or party id names nothing) and ``contracts`` (how many it covers now)."""
    summary: dict[str, Any] = {"scope": scope_view(case), "known": True}
    if case.scope_kind == PLATFORM_SCOPE:
        platform = session.get(Platform, case.scope_platform_id)
        summary["known"] = platform is not None
        summary["covers"] = (
            f"every contract of the platform {platform.name!r} ({platform.status}), on behalf of all its parties"
            if platform is not None
            else "nothing: no platform has this id"
        )
    elif case.scope_kind == PARTY_SCOPE:
        party = session.get(Party, case.scope_party_id)
        summary["known"] = party is not None
        summary["covers"] = (
            f"every contract naming the party {party.name!r} ({party.id_type} {party.id_number_masked}) "
            f"of the platform {party.platform_id}"
            if party is not None
            else "nothing: no party has this id"
        )
    else:
        summary["covers"] = (
            f"every contract, on every platform, naming a party with {case.scope_id_type} "
            f"{case.scope_id_masked}"
        )
    summary["contracts"] = (
        session.execute(select(func.count()).select_from(Contract).where(scope_condition(case))).scalar_one()
        if summary["known"]
        else 0
    )
    return summary


def approve_case(
    session: Session,
    case_id: str,
    *,
    operator: str,
    now: str,
    shown_scope: Mapping[str, str] | None = None,
) -> Case:
    """An operator approves a case (idempotent); recorded in the audit trail.

    ``shown_scope`` is the :func:`scope_view` the operator was shown; approval fails when it
    differs. Raises ``not_found``, ``scope_unknown`` (the scope names no platform or party)
    or ``scope_not_as_shown``.
    """
    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if shown_scope is not None and dict(shown_scope) != scope_view(case):
        raise ScopeNotAsShown("the case's scope is not the one shown; list it again before approving")
    if case.status == APPROVED:
        return case
    if not scope_summary(session, case)["known"]:
        raise ScopeUnknown(
            f"the case's scope names nothing ({scope_view(case)}): ask the investigator for the right id",
            details={"scope": scope_view(case)},
        )
    case.status, case.approved_at, case.approved_by = APPROVED, now, operator
    session.flush()
    audit.record(
        session,
        at=now,
        actor=audit.operator(operator),
        action="case.approve",
        object_kind="case",
        object_id=case.id,
        case_id=case.id,
        details={"case_number": case.case_number, "investigator_id": case.investigator_id},
    )
    return case


def scope_condition(case: Case) -> ColumnElement[bool]:
    """The contracts a case covers, as a condition on :class:`Contract`."""
    if case.scope_kind == PLATFORM_SCOPE:
        return Contract.platform_id == case.scope_platform_id
    if case.scope_kind == PARTY_SCOPE:
        return or_(Contract.investor_id == case.scope_party_id, Contract.borrower_id == case.scope_party_id)
    person = select(Party.id).where(Party.id_lookup == case.scope_id_lookup)
    return or_(Contract.investor_id.in_(person), Contract.borrower_id.in_(person))


def _covers(session: Session, case: Case, contract_id: str) -> bool:
    found = session.execute(
        select(Contract.id).where(Contract.id == contract_id, scope_condition(case))
    ).first()
    return found is not None


def case_for_read(
    session: Session, investigator_id: str, contract_id: str | None, *, case_id: str | None = None
) -> Case:
    """The approved case of this investigator that covers the contract.

    With ``case_id`` (the ``Notary-Case`` header) that case is used: not the investigator's →
    ``not_found``; pending → ``forbidden``; not covering → ``not_found``. Without it, the
    investigator's earliest approved case covering the contract; if none does and a case of
    theirs awaits approval → ``forbidden``, otherwise ``not_found``. ``contract_id`` is None
    when the contract does not exist; no answer depends on anything but the contract's
    being covered, so a missing contract and an uncovered one answer alike.
    """
    if case_id is not None:
        case = own_case(session, case_id, investigator_id=investigator_id)
        if case.status != APPROVED:
            raise CasePending("this case has not been approved yet")
        if contract_id is None or not _covers(session, case, contract_id):
            raise NotFound("no such contract")
        return case
    cases = session.execute(
        select(Case).where(Case.investigator_id == investigator_id).order_by(Case.created_at, Case.id)
    ).scalars()
    pending = False
    for case in cases:
        if case.status != APPROVED:
            pending = True
        elif contract_id is not None and _covers(session, case, contract_id):
            return case
    if pending:
        raise CasePending("no approved case of yours covers this; a case of yours awaits approval")
    raise NotFound("no such contract")


def own_cases(session: Session, investigator_id: str) -> list[dict[str, Any]]:
    """``GET /cases``: the investigator's own cases, newest first, each as :func:`case_view`."""
    rows = session.execute(
        select(Case).where(Case.investigator_id == investigator_id).order_by(Case.created_at.desc(), Case.id)
    ).scalars()
    return [case_view(case) for case in rows]


#: How many contracts one listing of a case's scope shows (the export holds them all).
SCOPE_PAGE = 500


def contracts_in_scope(session: Session, case: Case, *, now: str, after: str | None = None) -> dict[str, Any]:
    """``GET /cases/{id}/contracts``: an approved case's contracts, by id, a page at a time, with
    the counts an export's progress is measured against (``in_scope``, ``ready``: the bundles it
    will hold). Raises :class:`CasePending` for a case not approved yet."""
    from notary.services.ceremony.signatures import effective_status
    from notary.services.tlog.public import evidence_progress

    if case.status != APPROVED:
        raise CasePending("this case has not been approved yet")
    condition = scope_condition(case)
    in_scope = session.execute(select(func.count()).select_from(Contract).where(condition)).scalar_one()
    query = (
        select(Contract, Platform)
        .join(Platform, Platform.id == Contract.platform_id)
        .where(condition)
        .order_by(Contract.id)
        .limit(SCOPE_PAGE + 1)
    )
    if after:
        query = query.where(Contract.id > after)
    rows = session.execute(query).all()
    items = []
    for contract, platform in rows[:SCOPE_PAGE]:
        evidence = evidence_progress(session, contract)
        items.append(
            {
                "contract_id": contract.id,
                "platform": {"platform_id": platform.id, "name": platform.name, "status": platform.status},
                "status": effective_status(contract, now),
                "received_at": contract.received_at,
                "evidence_ready": bool(evidence and evidence["ready"]),
            }
        )
    ready = session.execute(
        select(func.count())
        .select_from(Contract)
        .join(LogLeaf, LogLeaf.sequence == Contract.record_sequence)
        .where(condition)
    ).scalar_one()
    return {
        "case_id": case.id,
        "in_scope": in_scope,
        "sealed": ready,
        "contracts": items,
        "next_cursor": rows[SCOPE_PAGE - 1][0].id if len(rows) > SCOPE_PAGE else None,
    }


def redeem_export_ticket(session: Session, ticket: str, *, case_id: str, now: str) -> str:
    """Use up a download ticket for ``case_id``; the case's investigator, for whom the export is
    made. Raises ``unauthenticated`` (see :func:`auth.redeem_ticket`) or ``not_found``."""
    auth.redeem_ticket(session, ticket, case_id=case_id, now=now)
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("no such case")
    return case.investigator_id
