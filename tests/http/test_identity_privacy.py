"""Issue 15.1: a full ID number must not come back from a bundle or a database copy.

The attack, as the issue ran it: a masked resident ID shows its first 6 and last 4 digits,
so only the 8 birth-date digits are unknown, about 45,000 candidates. The counterparty holds
the bundle; someone holds a copy of the database but not the instance's personal-data key.
Each tries every candidate with every recipe the project ever published:

- the round-1 identity hash, SHA-256("cn_resident:<number>"), as text anywhere;
- the number itself, in clear;
- a stored enrolment proof as an oracle: a ``notary.enrol.v1`` proof verifies over the
  payload of exactly one candidate.

Before the fix each of these found the borrower's number (the hash in 0.1 s). With salted
commitments they find nothing: the commitment cannot be recomputed without the 32-byte salt,
which is stored only encrypted.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re

from sqlalchemy import MetaData, select

from notary.verify import payloads
from notary.verify.errors import InvalidSignature, MalformedInput
from notary.verify.keys import PublicKey
from tests.http.test_evidence import ready_contract
from tests.support.people import Person

BORROWER_ID = "110102198001010017"
_HEX64 = re.compile(rb"[0-9a-f]{64}")


def candidates(masked_start: str, masked_end: str) -> list[str]:
    """Every number the mask allows: 6 + YYYYMMDD + 4, birth dates 1900-01-01 to 2026-12-31."""
    day, last, numbers = dt.date(1900, 1, 1), dt.date(2026, 12, 31), []
    while day <= last:
        numbers.append(f"{masked_start}{day:%Y%m%d}{masked_end}")
        day += dt.timedelta(days=1)
    return numbers


def database_copy(runtime) -> bytes:
    """Every value of every table, as an attacker with a dump (no keys) has it."""
    metadata = MetaData()
    values: list[bytes] = []
    with runtime.db.engine.connect() as connection:
        metadata.reflect(connection)
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        values.append(bytes(value))
                    elif value is not None:
                        values.append(str(value).encode())
    database_file = runtime.settings.instance_path / "notary.db"
    if runtime.db.dialect == "sqlite" and database_file.exists():
        values.append(database_file.read_bytes())
    return b"\n".join(values)


def enrolment_proofs(runtime, masked: str) -> list[tuple[PublicKey, bytes, str]]:
    """The (key, proof, platform) of the party with this masked number, as a dump shows them."""
    metadata = MetaData()
    with runtime.db.engine.connect() as connection:
        metadata.reflect(connection, only=["parties"])
        parties = metadata.tables["parties"]
        rows = connection.execute(
            select(parties.c.public_key_der, parties.c.enrol_proof, parties.c.platform_id).where(
                parties.c.id_number_masked == masked
            )
        ).all()
    return [(PublicKey.from_der(row[0]), bytes(row[1]), row[2]) for row in rows if row[1] is not None]


def brute_force(haystack: bytes, proofs: list[tuple[PublicKey, bytes, str]], numbers: list[str]) -> set[str]:
    """The candidate numbers any published recipe confirms."""
    found: set[str] = set()
    digests = set(_HEX64.findall(haystack))
    for number in numbers:
        round_one = payloads.identity_sha256("cn_resident", number)
        if round_one.encode() in digests or number.encode() in haystack:
            found.add(number)
    for key, proof, platform_id in proofs:
        for number in numbers:
            payload = payloads.enrol_payload(
                platform_id=platform_id,
                key_fingerprint=key.fingerprint,
                identity_sha256=payloads.identity_sha256("cn_resident", number),
            )
            try:
                key.verify(proof, payload)
            except (InvalidSignature, MalformedInput):
                continue
            found.add(number)
    return found


def test_no_id_number_comes_back_from_a_bundle_or_a_database_copy(platform, investor, runtime, client):
    borrower = Person("李四", alg="ed25519", id_number=BORROWER_ID)
    answer = platform.post("/parties", json=borrower.enrolment(platform.platform_id))
    assert answer.status_code == 201, answer.get_json()
    borrower.party_id = answer.get_json()["party_id"]
    masked = answer.get_json()["id_number_masked"]
    assert masked == "110102********0017"
    contract_id = ready_contract(platform, investor, borrower, runtime, client)
    bundle = platform.get(f"/contracts/{contract_id}/evidence").data
    certificate = platform.get(f"/contracts/{contract_id}/certificate").data
    numbers = candidates(masked[:6], masked[-4:])
    assert len(numbers) > 45_000
    assert BORROWER_ID in numbers  # the attack would find it if anything gave it away

    # The counterparty: the bundle and the certificate it was handed.
    assert brute_force(bundle + certificate, [], numbers) == set()
    # A database copy without the instance's keys.
    assert brute_force(database_copy(runtime), enrolment_proofs(runtime, masked), numbers) == set()
    # The record carries a commitment instead; it is not the round-1 hash of any candidate.
    assert hashlib.sha256(f"cn_resident:{BORROWER_ID}".encode()).hexdigest().encode() not in bundle
    assert borrower.identity_commitment(platform.platform_id).encode() in bundle


def test_a_round_one_client_still_enrols_and_the_notary_draws_the_salt(platform, runtime, client):
    person = Person("王五", alg="ed25519")
    round_one = {
        "name": person.name,
        "id_type": "cn_resident",
        "id_number": person.id_number,
        "public_key": person.public.pem,
        "proof": person.sign_b64(
            payloads.enrol_payload(
                platform_id=platform.platform_id,
                key_fingerprint=person.public.fingerprint,
                identity_sha256=person.identity_sha256,
            )
        ),
    }
    answer = platform.post("/parties", json=round_one)
    assert answer.status_code == 201, answer.get_json()
    party_id = answer.get_json()["party_id"]
    from notary.storage.models import Party

    with runtime.db.read() as session:
        party = session.get(Party, party_id)
        assert party.enrol_proof is None  # its v1 proof is an oracle: kept encrypted only
        assert runtime.identity_secrets.open_proof(party.legacy_enrol_proof_enc) == base64.b64decode(
            round_one["proof"]
        )
        opening = runtime.identity_secrets.opening(
            id_type=party.id_type, id_number_enc=party.id_number_enc, salt_enc=party.identity_salt_enc
        )
    assert payloads.identity_commitment(opening) == answer.get_json()["identity_commitment"]
    # A wrong v1 proof is refused like a wrong v2 one.
    forged = dict(round_one, id_number="11010519491231002X")
    refused = platform.post("/parties", json=forged)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (422, "bad_proof")


def test_an_identity_salt_must_be_32_bytes_of_canonical_base64(platform):
    person = Person("赵六")
    body = person.enrolment(platform.platform_id)
    for salt in (base64.b64encode(bytes(16)).decode() + "A" * 20, "A" * 42 + "=="):
        answer = platform.post("/parties", json=dict(body, identity_salt=salt))
        assert answer.status_code == 422, answer.get_json()
        assert "identity_salt" in answer.get_json()["error"].get("details", {}), answer.get_json()


def test_the_opening_goes_to_the_party_itself_and_nobody_else(platform, investor, borrower, runtime, client):
    from sqlalchemy import select

    from notary.storage.access_models import AuditEntry
    from tests.support.access import Caller, login

    path = f"/me/parties/{borrower.party_id}/opening"
    own = Caller(client, login(client, borrower)).get(path)
    assert own.status_code == 200
    assert own.mimetype == "application/json"
    assert own.headers["Cache-Control"] == "no-store"
    assert own.data == borrower.opening(platform.platform_id)  # the bytes the party's tool drew
    assert payloads.identity_commitment(own.data) == borrower.identity_commitment(platform.platform_id)

    counterparty = Caller(client, login(client, investor))
    refused, unknown = (
        counterparty.get(path),
        counterparty.get("/me/parties/pa_01NOSUCHPARTY000000000000/opening"),
    )
    assert refused.status_code == unknown.status_code == 404
    assert refused.data == unknown.data
    assert platform.get(path).status_code == 403
    assert Caller(client).get(path).status_code == 401
    with runtime.db.read() as session:
        reads = session.execute(
            select(AuditEntry.actor_id, AuditEntry.object_id).where(
                AuditEntry.action == "identity.opening.read"
            )
        ).all()
    assert reads == [(borrower.public.fingerprint, borrower.party_id)]
