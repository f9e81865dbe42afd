"""The closed vocabularies every layer shares, defined once at the bottom.

Storage stores these values, services compare them, the API's schemas list them and the
offline verifier reads them in exports; each is a :class:`~enum.StrEnum`, so a member *is* its
string (``ContractStatus.SEALED == "sealed"``) and stored and JSON values never change.
"""

from __future__ import annotations

from enum import StrEnum


class ContractStatus(StrEnum):
    """Where a contract stands. ``expired`` is also derived on read once ``sign_by`` passed."""

    AWAITING_SIGNATURES = "awaiting_signatures"
    SIGNED = "signed"
    SEALED = "sealed"
    EXPIRED = "expired"
    DECLINED = "declined"


class PlatformStatus(StrEnum):
    """A platform files while ``active``; once ``defunct`` (collapsed) its tokens are refused."""

    ACTIVE = "active"
    DEFUNCT = "defunct"


class Role(StrEnum):
    """Who signs a contract: the lender (investor) and the borrower."""

    INVESTOR = "investor"
    BORROWER = "borrower"
