"""One key, one identity, even when two platforms enrol it at the same moment (issue 25 item 4).

``enrol`` checked that no other identity held the key, then inserted. Under PostgreSQL's READ
COMMITTED two simultaneous enrolments of one key under two identities (on two platforms) both
passed the check and both committed: a key bound to two people. The ``key_identities`` table's
primary key now decides: exactly one enrolment wins, the other is ``409 key_in_use``.
"""

from __future__ import annotations

import copy
import threading

from sqlalchemy import func, select

from notary.services.ceremony.identity import PiiCipher
from notary.storage.models import KeyIdentity, Party
from tests.support.people import Person, resident_id


def test_one_key_under_two_identities_at_once_binds_one(runtime, client, monkeypatch, make_platform):
    first_platform = make_platform("First Lending")
    second_platform = make_platform("Second Lending")
    alice = Person("张三")
    mallory = copy.copy(alice)  # the same key pair...
    mallory.id_number = resident_id()  # ...claimed for another person
    mallory.name = "王五"

    # Both requests meet here, after reading their input and before any check of the key, so
    # the two transactions check and insert side by side. (SQLite's writers take turns, a
    # whole transaction each, so there they cannot meet inside one: they just run at once.)
    barrier = threading.Barrier(2 if runtime.db.engine.dialect.name == "postgresql" else 1, timeout=20)
    lookup = PiiCipher.lookup

    def meeting_lookup(self, id_type, number):
        value = lookup(self, id_type, number)
        if threading.current_thread().name.startswith("enrol-"):
            barrier.wait()
        return value

    monkeypatch.setattr(PiiCipher, "lookup", meeting_lookup)
    answers = {}

    def enrol(name, platform, person):
        answers[name] = platform.post("/parties", json=person.enrolment(platform.platform_id))

    threads = [
        threading.Thread(target=enrol, args=("alice", first_platform, alice), name="enrol-alice"),
        threading.Thread(target=enrol, args=("mallory", second_platform, mallory), name="enrol-mallory"),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    statuses = sorted(answer.status_code for answer in answers.values())
    assert statuses == [201, 409], {name: a.get_json() for name, a in answers.items()}
    loser = next(answer for answer in answers.values() if answer.status_code == 409)
    assert loser.get_json()["error"]["code"] == "key_in_use"
    with runtime.db.read() as session:
        assert session.execute(select(func.count()).select_from(Party)).scalar_one() == 1
        identities = session.execute(select(func.count()).select_from(KeyIdentity)).scalar_one()
    assert identities == 1


def test_an_operator_cannot_verify_a_key_enrolled_for_someone_else(runtime, client, platform):
    alice = Person("张三")
    platform.enrol(alice)
    from notary.services.access.key_holders import verify_identity
    from notary.services.ceremony.parties import KeyInUse
    from notary.services.clock import now_text

    with runtime.db.write() as session:
        try:
            verify_identity(
                session,
                runtime.pii,
                id_type="cn_resident",
                id_number=resident_id(),
                public_key_pem=alice.public.pem,
                operator="op",
                now=now_text(runtime.clock),
            )
        except KeyInUse:
            pass
        else:
            raise AssertionError("a key enrolled for one identity was verified for another")
