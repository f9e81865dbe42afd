"""Investigators and their cases, as services: each call one transaction at the service's present.

The rules (what a scope covers, when a case may be approved, what a listing shows) are in
:mod:`notary.services.access.cases`; here they are put together for the API, the pages and
the operator's commands, so each interface makes one call per act.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from notary.errors import NotFound, Unprocessable
from notary.services import auth
from notary.services.access import cases
from notary.services.audit import trail as audit
from notary.services.ceremony.identity import PiiCipher
from notary.services.clock import Clock, now_text
from notary.services.text import check_text
from notary.storage.access_models import Case, Investigator
from notary.storage.db import Database
from notary.storage.ids import INVESTIGATOR, new_id
from notary.storage.models import ApiToken
from notary.verify.payloads import format_time

#: A download ticket's life: long enough to start the download, too short to be worth stealing.
TICKET_LIFETIME = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class NewInvestigator:
    investigator_id: str
    name: str
    agency: str
    token: str


class Investigators:
    """Operators' acts on investigators; each is recorded in the audit trail."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def add(self, name: str, *, agency: str, operator: str) -> NewInvestigator:
        """Create an investigator and its token (shown once). Raises ``unprocessable`` for a
        name or agency that is empty, longer than 200 characters or not plain text."""
        name = check_text(name, field="name").strip()
        agency = check_text(agency, field="agency").strip()
        if not name or len(name) > 200 or not agency or len(agency) > 200:
            raise Unprocessable("an investigator needs a name and an agency of 1 to 200 characters")
        now = now_text(self.clock)
        with self.db.write() as session:
            investigator = Investigator(
                id=new_id(INVESTIGATOR), name=name, agency=agency, created_by=operator, created_at=now
            )
            session.add(investigator)
            session.flush()
            token = auth.issue_token(session, kind=auth.INVESTIGATOR, subject_id=investigator.id, now=now)
            audit.record(
                session,
                at=now,
                actor=audit.operator(operator),
                action="investigator.add",
                object_kind="investigator",
                object_id=investigator.id,
                details={"name": name, "agency": agency},
            )
            return NewInvestigator(investigator.id, name, agency, token)

    def revoke(self, investigator_id: str, *, operator: str) -> int:
        """Revoke every live token of an investigator (who left, or whose token leaked), and
        their unused download tickets. Their cases and what was read under them stay. Returns
        how many tokens were revoked; raises ``not_found``."""
        now = now_text(self.clock)
        with self.db.write() as session:
            if session.get(Investigator, investigator_id) is None:
                raise NotFound(f"no investigator {investigator_id}")
            revoked = auth.revoke_tokens(session, kind=auth.INVESTIGATOR, subject_id=investigator_id, now=now)
            # Each ticket lives a minute, but none may outlive the revocation.
            session.execute(
                update(ApiToken)
                .where(
                    ApiToken.kind == auth.EXPORT_TICKET,
                    ApiToken.subject_id.in_(select(Case.id).where(Case.investigator_id == investigator_id)),
                    ApiToken.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
            audit.record(
                session,
                at=now,
                actor=audit.operator(operator),
                action="investigator.revoke",
                object_kind="investigator",
                object_id=investigator_id,
                details={"tokens_revoked": revoked},
            )
        return revoked

    def new_token(self, investigator_id: str, *, operator: str) -> str:
        """A new token for an existing investigator (shown once; older ones keep working until
        revoked). Raises ``not_found``."""
        now = now_text(self.clock)
        with self.db.write() as session:
            if session.get(Investigator, investigator_id) is None:
                raise NotFound(f"no investigator {investigator_id}")
            token = auth.issue_token(session, kind=auth.INVESTIGATOR, subject_id=investigator_id, now=now)
            audit.record(
                session,
                at=now,
                actor=audit.operator(operator),
                action="investigator.token",
                object_kind="investigator",
                object_id=investigator_id,
                details={},
            )
        return token


@dataclass(frozen=True)
class OpenedCase:
    case_id: str
    status: cases.CaseStatus


@dataclass(frozen=True)
class DownloadTicket:
    """A single-use ticket for one case's export, to go in a URL (the browser streams to disk)."""

    ticket: str
    expires_at: str


@dataclass(frozen=True)
class CaseForApproval:
    """What an operator reads before approving: the case, who asked, and what the scope covers."""

    case: dict[str, Any]
    investigator: dict[str, str]
    summary: dict[str, Any]


class Cases:
    """Investigators' cases: opened by investigators, approved by operators, read within scope."""

    def __init__(self, db: Database, clock: Clock, cipher: PiiCipher) -> None:
        self.db = db
        self.clock = clock
        self.cipher = cipher

    def open(
        self, investigator_id: str, *, case_number: str, legal_basis: str, scope: Mapping[str, Any]
    ) -> OpenedCase:
        """Open a case, pending approval; raises as :func:`cases.open_case`."""
        with self.db.write() as session:
            case = cases.open_case(
                session,
                self.cipher,
                investigator_id=investigator_id,
                case_number=case_number,
                legal_basis=legal_basis,
                scope=scope,
                now=now_text(self.clock),
            )
            return OpenedCase(case.id, cases.CaseStatus(case.status))

    def own(self, investigator_id: str) -> list[dict[str, Any]]:
        """The investigator's own cases, newest first (``GET /cases``)."""
        with self.db.read() as session:
            return cases.own_cases(session, investigator_id)

    def view(self, case_id: str, *, investigator_id: str) -> dict[str, Any]:
        """One of the investigator's own cases; another's is ``not_found``, like a missing one."""
        with self.db.read() as session:
            return cases.case_view(cases.own_case(session, case_id, investigator_id=investigator_id))

    def contracts(self, case_id: str, *, investigator_id: str, after: str | None = None) -> dict[str, Any]:
        """A page of the contracts in an approved case's scope, recorded in the audit trail
        (``case.contracts``). Raises ``not_found`` or ``forbidden`` (not approved yet)."""
        now = now_text(self.clock)
        with self.db.read() as session:
            case = cases.own_case(session, case_id, investigator_id=investigator_id)
            listing = cases.contracts_in_scope(session, case, now=now, after=after)
        with self.db.write() as session:
            audit.record(
                session,
                at=now,
                actor=audit.Actor(auth.INVESTIGATOR, investigator_id),
                action="case.contracts",
                object_kind="case",
                object_id=case_id,
                case_id=case_id,
                details={"contracts_listed": len(listing["contracts"]), "in_scope": listing["in_scope"]},
            )
        return listing

    def export_ticket(self, case_id: str, *, investigator_id: str) -> DownloadTicket:
        """A single-use ticket for the case's export, valid :data:`TICKET_LIFETIME`. Raises
        ``not_found`` or ``forbidden`` (not approved yet)."""
        moment = self.clock()
        now, expires_at = format_time(moment), format_time(moment + TICKET_LIFETIME)
        with self.db.write() as session:
            case = cases.own_case(session, case_id, investigator_id=investigator_id)
            if case.status != cases.APPROVED:
                raise cases.CasePending("this case has not been approved yet")
            ticket = auth.issue_token(
                session, kind=auth.EXPORT_TICKET, subject_id=case.id, now=now, expires_at=expires_at
            )
        return DownloadTicket(ticket, expires_at)

    def redeem_ticket(self, ticket: str, *, case_id: str) -> str:
        """Use up a download ticket; the investigator the export is made for. Raises
        ``unauthenticated`` (unknown, used, expired or another case's ticket) or ``not_found``."""
        with self.db.write() as session:
            return cases.redeem_export_ticket(session, ticket, case_id=case_id, now=now_text(self.clock))

    def for_approval(self, case_id: str) -> CaseForApproval:
        """A case as an operator reads it before approving; raises ``not_found``."""
        with self.db.read() as session:
            case, investigator = cases.own_case_for_operator(session, case_id)
            return CaseForApproval(cases.case_view(case), investigator, cases.scope_summary(session, case))

    def approve(self, case_id: str, *, operator: str, shown_scope: Mapping[str, str]) -> dict[str, Any]:
        """Approve a case whose scope is still the one the operator was shown; raises as
        :func:`cases.approve_case`."""
        with self.db.write() as session:
            case = cases.approve_case(
                session, case_id, operator=operator, now=now_text(self.clock), shown_scope=shown_scope
            )
            return cases.case_view(case)

    def listing(self, *, status: cases.CaseStatus | None = None) -> list[dict[str, Any]]:
        """Every case (or those with ``status``), oldest first, with its investigator."""
        with self.db.read() as session:
            return cases.list_cases(session, status=status)
