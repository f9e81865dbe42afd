"""Both parties sign at the same moment: the second act to commit must see the first.

A signature locks its contract, then reads the acts stored for it. Under PostgreSQL's READ
COMMITTED a statement that waited for a row lock re-reads the locked row, but the other rows
of its joins come from the snapshot taken when the statement started: reading the acts in the
locking statement itself (issue 24's first cut) let the borrower's act, blocked behind the
investor's, miss the investor's committed signature. Both signatures were stored and the
contract stayed ``awaiting_signatures`` for ever. The acts are read by a statement of their own,
after the lock is held.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from notary.services.ceremony import signatures
from notary.storage.models import Contract, Signature
from tests.support.platforms import sign_body


def test_two_roles_signing_at_once_make_the_contract_signed(
    platform, investor, borrower, runtime, client, monkeypatch
):
    filed = platform.file(investor, borrower)
    cid = filed["contract_id"]
    bodies = {
        role: sign_body(person, filed, role)
        for role, person in (("investor", investor), ("borrower", borrower))
    }
    # Both acts meet after their verification, before their write transactions, and each holds
    # its lock a moment before writing: the second one's statements start while the first holds
    # the contract. (SQLite's writers take turns a whole transaction each: there they just run.)
    barrier = threading.Barrier(2 if runtime.db.dialect == "postgresql" else 1, timeout=20)
    verify, store = signatures.Ceremony._verify, signatures._Rows.store

    def meeting_verify(self, *args, **kwargs):
        value = verify(self, *args, **kwargs)
        if threading.current_thread().name.startswith("sign-"):
            barrier.wait()
        return value

    def slow_store(self, *args, **kwargs):
        time.sleep(0.3)
        return store(self, *args, **kwargs)

    monkeypatch.setattr(signatures.Ceremony, "_verify", meeting_verify)
    monkeypatch.setattr(signatures._Rows, "store", slow_store)
    answers = {}

    def sign(role):
        answers[role] = client.post(f"/api/v1/contracts/{cid}/signatures", json=bodies[role])

    threads = [threading.Thread(target=sign, args=(role,), name=f"sign-{role}") for role in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(answer.status_code for answer in answers.values()) == [200, 200]
    statuses = sorted(answer.get_json()["status"] for answer in answers.values())
    assert statuses == ["awaiting_signatures", "signed"], statuses
    with runtime.db.read() as session:
        assert session.execute(select(Contract.status).where(Contract.id == cid)).scalar_one() == "signed"
        roles = session.execute(select(Signature.role).where(Signature.contract_id == cid)).scalars()
        assert sorted(roles) == ["borrower", "investor"]
