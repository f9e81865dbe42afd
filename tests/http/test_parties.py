"""Enrolment: proof of possession, identity checks, one key per identity, masked answers."""

from __future__ import annotations

from sqlalchemy import func, select

from notary.storage.models import Party
from tests.support.people import Person


def party_count(runtime) -> int:
    with runtime.db.read() as session:
        return session.execute(select(func.count()).select_from(Party)).scalar_one()


def test_enrol_answers_masked_identity(platform, runtime):
    person = Person("王五", alg="p256")
    response = platform.post(
        "/parties", json=person.enrolment(platform.platform_id, phone="+86 138 0013 8000")
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["key_fingerprint"] == person.public.fingerprint
    assert body["id_number_masked"] == person.id_number[:6] + "*" * 8 + person.id_number[-4:]
    assert body["phone_masked"] == "+86*******8000"
    assert person.id_number not in response.get_data(as_text=True)
    # At rest: neither the ID number nor the phone number is stored in clear.
    with runtime.db.read() as session:
        party = session.get(Party, body["party_id"])
        assert person.id_number.encode() not in party.id_number_enc
        assert runtime.pii.decrypt(party.id_number_enc, context="party.id_number") == person.id_number
        assert runtime.pii.decrypt(party.phone_enc, context="party.phone") == "+8613800138000"


def test_same_identity_and_key_again_is_the_same_party(platform):
    person = Person()
    first = platform.post("/parties", json=person.enrolment(platform.platform_id))
    again = platform.post("/parties", json=person.enrolment(platform.platform_id))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["party_id"] == first.get_json()["party_id"]


def test_same_identity_with_another_key_is_party_exists(platform, runtime):
    person = Person()
    platform.enrol(person)
    impostor = Person(id_number=person.id_number)
    response = platform.post("/parties", json=impostor.enrolment(platform.platform_id))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "party_exists"
    assert party_count(runtime) == 1


def test_key_bound_to_another_identity_is_key_in_use(platform, runtime, client, make_platform):
    person = Person()
    platform.enrol(person)
    other = Person()
    other.private, other.public = person.private, person.public  # same key, another identity
    for caller in (platform, make_platform("Other Lending")):
        response = caller.post("/parties", json=other.enrolment(caller.platform_id))
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] == "key_in_use"
    assert party_count(runtime) == 1


def test_same_person_and_key_on_two_platforms(platform, runtime, client, make_platform):
    person = Person()
    platform.enrol(person)
    other = make_platform("Other Lending")
    response = other.post("/parties", json=person.enrolment(other.platform_id))
    assert response.status_code == 201
    assert party_count(runtime) == 2


def test_bad_inputs(platform, runtime, client):
    person = Person()
    good = person.enrolment(platform.platform_id)
    proof_for_other_platform = person.enrolment("pl_other")["proof"]
    cases = [
        ({"data": b"{not json", "content_type": "application/json"}, 400, "malformed_json"),
        ({"data": b'{"a":1,"a":2}', "content_type": "application/json"}, 400, "malformed_json"),
        (
            {"data": b"name=x", "content_type": "application/x-www-form-urlencoded"},
            415,
            "unsupported_media_type",
        ),
        ({"json": {**good, "extra": 1}}, 422, "validation_failed"),
        ({"json": {**good, "name": 42}}, 422, "validation_failed"),
        ({"json": {k: v for k, v in good.items() if k != "public_key"}}, 422, "validation_failed"),
        ({"json": {**good, "id_type": "driving_licence"}}, 422, "validation_failed"),
        ({"json": {**good, "public_key": "not a key"}}, 422, "validation_failed"),
        (
            {
                "json": {
                    **good,
                    "id_number": person.id_number[:-1] + ("0" if person.id_number[-1] != "0" else "1"),
                }
            },
            422,
            "bad_id_number",
        ),
        ({"json": {**good, "id_number": "110102199913320011"}}, 422, "bad_id_number"),
        ({"json": {**good, "proof": proof_for_other_platform}}, 422, "bad_proof"),
        ({"json": {**good, "proof": "%%%"}}, 422, "bad_proof"),
        ({"json": [good]}, 422, "validation_failed"),
    ]
    for kwargs, status, code in cases:
        response = platform.post("/parties", **kwargs)
        assert response.status_code == status, (kwargs, response.get_json())
        assert response.get_json()["error"]["code"] == code, kwargs
    assert party_count(runtime) == 0


def test_validation_details_name_the_field(platform):
    person = Person()
    response = platform.post("/parties", json={**person.enrolment(platform.platform_id), "extra": 1})
    assert response.get_json()["error"]["details"] == {"extra": ["Unknown field."]}


def test_tokens(client, platform):
    person = Person()
    for headers, status in (
        ({}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        ({"Authorization": f"Basic {platform.token}"}, 401),
    ):
        response = client.post(
            "/api/v1/parties", json=person.enrolment(platform.platform_id), headers=headers
        )
        assert response.status_code == status
        assert response.get_json()["error"]["code"] == "unauthenticated"
