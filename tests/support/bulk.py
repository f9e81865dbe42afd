"""Many signed contracts, fast: filed through the service, signed with real keys, stored in bulk.

Posting each signature through the ceremony would cost a durable transaction per signature;
tests of the sequencer need thousands, so the signatures (real ones, over the real payloads)
are inserted together.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import insert, update

from notary.runtime import Runtime
from notary.services.access.platforms import add_platform
from notary.services.ceremony.parties import Enrolment, enrol
from notary.services.ceremony.signatures import SIGNED
from notary.services.clock import now_text
from notary.services.filing.service import Filing, signing_payload
from notary.storage.models import Contract, Signature
from tests.support.people import Person


def make_signed_contracts(rt: Runtime, count: int, *, batch: int = 1000) -> list[str]:
    """File and fully sign ``count`` contracts; returns their ids (status ``signed``)."""
    now = now_text(rt.clock)
    investor, borrower = Person("投资人", alg="ed25519"), Person("借款人", alg="ed25519")
    with rt.db.write() as session:
        platform_id = add_platform(session, "Bulk Lending", now=now).platform_id
        parties = {}
        for role, person in (("investor", investor), ("borrower", borrower)):
            body = person.enrolment(platform_id)
            request = Enrolment(
                body["name"],
                body["id_number"],
                body["public_key"],
                body["proof"],
                identity_salt=body["identity_salt"],
            )
            parties[role] = enrol(
                session, rt.identity_secrets, platform_id=platform_id, request=request, now=now
            ).party
    ids: list[str] = []
    for start in range(0, count, batch):
        filings = [
            Filing(
                f"contract {start + i}".encode(),
                "application/pdf",
                {
                    "investor": parties["investor"].id,
                    "borrower": parties["borrower"].id,
                    "amount": "100.00",
                    "currency": "CNY",
                    "annual_rate": "0.05",
                    "term_months": 6,
                    "start_date": "2026-12-01",
                },
            )
            for i in range(min(batch, count - start))
        ]
        filed = rt.filing.file_batch(platform_id, filings)
        contract_ids = [outcome.body["contract_id"] for outcome in filed]  # type: ignore[union-attr]
        with rt.db.write() as session:
            contracts = [session.get(Contract, cid) for cid in contract_ids]
            rows = []
            for contract in contracts:
                for role, person in (("investor", investor), ("borrower", borrower)):
                    signature = person.sign(signing_payload(contract, role))
                    rows.append(
                        {
                            "contract_id": contract.id,
                            "role": role,
                            "purpose": "notary.sign.v1",
                            "party_id": parties[role].id,
                            "algorithm": "ed25519",
                            "key_fingerprint": person.public.fingerprint,
                            "identity_commitment": parties[role].identity_commitment,
                            "enrolment_proof": parties[role].enrol_proof,
                            "identity_assurance": "platform",
                            "signature": signature,
                            "submitted_sha256": hashlib.sha256(signature).hexdigest(),
                            "signed_at": now,
                        }
                    )
            session.execute(insert(Signature), rows)
            session.execute(
                update(Contract).where(Contract.id.in_(contract_ids)).values(status=SIGNED, signed_at=now)
            )
        ids.extend(contract_ids)
    return ids
