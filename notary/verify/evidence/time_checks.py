"""``signing_times``: each signature falls inside the contract's life, and before its deadline.

A record states when the contract was filed (``received_at``), when each party signed
(``signed_at``) and when it was sealed (``sealed_at``); the terms state the deadline
(``sign_by``). Each signature must lie between filing and sealing, and not after the
deadline. Each violation is its own failure (``signed_before_filing``,
``signed_after_sealing``, ``signed_after_deadline``).

``sign_by`` is kept as the platform sent it. Before the service accepted RFC 3339 only, it
took whatever ``datetime.fromisoformat`` read (``2026-W51-1T00Z``, ``+0800`` offsets...);
such a deadline is not reinterpreted here. The check then says it did not run, and why, and
that alone does not make the evidence invalid (round2-notes, "Checks on old data").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from notary.verify.errors import MalformedInput
from notary.verify.evidence.checks import Passed
from notary.verify.evidence.errors import (
    CheckNotApplicable,
    SignedAfterDeadline,
    SignedAfterSealing,
    SignedBeforeFiling,
)
from notary.verify.evidence.record import EvidenceRecord, parse_time
from notary.verify.payloads import ROLES
from notary.verify.times import parse_rfc3339

__all__ = ["check_signing_times"]


def check_signing_times(record: EvidenceRecord, terms: Mapping[str, Any]) -> Passed[None]:
    """Every ``signed_at`` is within ``received_at``..``sealed_at`` and not after the terms'
    ``sign_by``. Raises :class:`SignedBeforeFiling`, :class:`SignedAfterSealing`,
    :class:`SignedAfterDeadline` (in that order, investor first), or
    :class:`CheckNotApplicable` when ``sign_by`` is missing or not RFC 3339 (old terms), once
    the window is found right."""
    received, sealed = parse_time(record.received_at), parse_time(record.sealed_at)
    signed = {role: parse_time(record.signatures[role].signed_at) for role in ROLES}
    for role in ROLES:
        facts = {"role": role, "signed_at": record.signatures[role].signed_at}
        if signed[role] < received:
            raise SignedBeforeFiling(
                f"the {role} signed at {facts['signed_at']}, before the contract was filed at {record.received_at}",
                details={**facts, "received_at": record.received_at},
            )
        if signed[role] > sealed:
            raise SignedAfterSealing(
                f"the {role} signed at {facts['signed_at']}, after the record was sealed at {record.sealed_at}",
                details={**facts, "sealed_at": record.sealed_at},
            )
    window = f"both signatures lie between filing ({record.received_at}) and sealing ({record.sealed_at})"
    sign_by = terms.get("sign_by")
    try:
        deadline = parse_rfc3339(sign_by, what="sign_by")
    except MalformedInput as exc:
        raise CheckNotApplicable(
            f"{window}; whether they came before the deadline was not checked: sign_by {sign_by!r} "
            "is not an RFC 3339 date-time (terms filed before the notary required one)",
            details={"sign_by": sign_by if isinstance(sign_by, str) else None, "window": "passed"},
        ) from exc
    for role in ROLES:
        if signed[role] > deadline:
            raise SignedAfterDeadline(
                f"the {role} signed at {record.signatures[role].signed_at}, after the deadline sign_by {sign_by}",
                details={"role": role, "signed_at": record.signatures[role].signed_at, "sign_by": sign_by},
            )
    return Passed(
        f"{window}, and before sign_by {sign_by}",
        {"received_at": record.received_at, "sealed_at": record.sealed_at, "sign_by": sign_by},
    )
