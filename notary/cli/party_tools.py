"""What a party does on its own machine: make a key, prove it for enrolment, sign a payload.

Plain functions behind ``notary keygen``, ``notary enrol`` and ``notary sign``; they need no
service, no database and no network. Private keys never leave their folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from notary.verify import payloads
from notary.verify.canonical import canonical_json, parse_canonical_json, parse_json
from notary.verify.encoding import b64decode, b64encode
from notary.verify.errors import MalformedInput, NotaryError
from notary.verify.keys import PublicKey

PRIVATE, PUBLIC = "private.pem", "public.pem"
_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


class PartyToolError(NotaryError):
    code = "party_tool_error"


@dataclass(frozen=True)
class PartyKey:
    """A party's key pair as kept in its folder."""

    private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    public: PublicKey

    def sign(self, message: bytes) -> bytes:
        """Ed25519 raw signature, or ECDSA P-256 with SHA-256 in DER."""
        if isinstance(self.private, ed25519.Ed25519PrivateKey):
            return self.private.sign(message)
        return self.private.sign(message, ec.ECDSA(hashes.SHA256()))


def generate(out: Path, algorithm: str = "ed25519") -> PartyKey:
    """Create ``private.pem`` (0600) and ``public.pem`` in ``out``; refuses to overwrite."""
    if algorithm == "ed25519":
        private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey = ed25519.Ed25519PrivateKey.generate()
    elif algorithm == "p256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        raise PartyToolError("--alg is ed25519 or p256")
    out.mkdir(parents=True, exist_ok=True)
    if (out / PRIVATE).exists():
        raise PartyToolError(f"{out / PRIVATE} exists; a key is never overwritten")
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(out / PRIVATE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = PublicKey.from_der(
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (out / PUBLIC).write_text(public.pem)
    return PartyKey(private, public)


def load(folder: Path) -> PartyKey:
    """The key pair in ``folder``; raises :class:`PartyToolError`."""
    try:
        private = serialization.load_pem_private_key((folder / PRIVATE).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise PartyToolError(f"no usable private key in {folder / PRIVATE}: {exc}") from exc
    if not isinstance(private, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise PartyToolError("the key must be Ed25519 or ECDSA P-256")
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return PartyKey(private, PublicKey.from_der(der))


def opening_path(folder: Path, platform_id: str) -> Path:
    """Where ``notary enrol`` keeps the identity opening of one enrolment, beside the key."""
    if not _ID.fullmatch(platform_id):
        raise PartyToolError("a platform id is letters, digits, _ and -")
    return folder / f"opening-{platform_id}.json"


def identity_opening(folder: Path, *, platform_id: str, id_type: str, id_number: str) -> bytes:
    """The opening for this enrolment: the one kept in ``folder`` for the same identity, or a
    new one over 32 fresh random bytes, written (mode 0600) before it is used, so that an
    enrolment is never sent for a commitment whose opening was not kept."""
    path = opening_path(folder, platform_id)
    number = payloads.normalise_id_number(id_number)
    if path.exists():
        kept = path.read_bytes()
        try:
            fields = parse_canonical_json(kept, what=str(path))
        except MalformedInput as exc:
            raise PartyToolError(f"{path} is not an identity opening: {exc.message}") from exc
        if isinstance(fields, dict) and (fields.get("id_type"), fields.get("id_number")) == (id_type, number):
            return kept
        raise PartyToolError(f"{path} holds the opening of another identity; it is never overwritten")
    opening = payloads.identity_opening(
        id_type=id_type, id_number=number, salt=secrets.token_bytes(payloads.SALT_BYTES)
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(opening)
    return opening


def enrolment_body(
    key: PartyKey,
    *,
    folder: Path,
    platform_id: str,
    name: str,
    id_number: str,
    id_type: str = "cn_resident",
    phone: str | None = None,
) -> dict[str, Any]:
    """The JSON body of ``POST /parties`` for this key, with its ``notary.enrol.v2`` proof over
    the identity commitment; the opening is kept in ``folder`` (:func:`identity_opening`)."""
    opening = identity_opening(folder, platform_id=platform_id, id_type=id_type, id_number=id_number)
    salt = parse_canonical_json(opening)["salt"]
    payload = payloads.enrol_payload_v2(
        platform_id=platform_id,
        key_fingerprint=key.public.fingerprint,
        identity_commitment=payloads.identity_commitment(opening),
    )
    body: dict[str, Any] = {
        "name": name,
        "id_type": id_type,
        "id_number": payloads.normalise_id_number(id_number),
        "public_key": key.public.pem,
        "identity_salt": salt,
        "proof": b64encode(key.sign(payload)),
    }
    if phone:
        body["phone"] = phone
    return body


@dataclass(frozen=True)
class SigningFile:
    """What a file handed to ``notary sign`` holds: the payload's bytes and, when it is the
    API's answer, the terms, platform and counterparty the payload commits to."""

    payload: bytes
    terms: Any = None
    platform: Any = None
    counterparty: Any = None


def read_signing_file(data: bytes) -> SigningFile:
    """The payload in a file: either its bytes, or the API's ``{"payload_base64",
    "payload_sha256", "terms", ...}`` answer (its digest checked)."""
    try:
        wrapper = parse_json(data)
    except MalformedInput as exc:
        raise PartyToolError("the file is neither a payload nor an API answer holding one") from exc
    if isinstance(wrapper, dict) and "payload_base64" in wrapper:
        payload = b64decode(wrapper["payload_base64"], what="payload_base64")
        expected = wrapper.get("payload_sha256")
        if expected is not None and hashlib.sha256(payload).hexdigest() != expected:
            raise PartyToolError("payload_sha256 does not match payload_base64")
        return SigningFile(
            payload, wrapper.get("terms"), wrapper.get("platform"), wrapper.get("counterparty")
        )
    return SigningFile(data)


def read_payload(data: bytes) -> bytes:
    """The payload bytes in a file (see :func:`read_signing_file`)."""
    return read_signing_file(data).payload


def check_terms(terms: Any, terms_sha256: str) -> dict[str, Any]:
    """The terms, if their canonical JSON hashes to ``terms_sha256``; raises :class:`PartyToolError`."""
    if not isinstance(terms, dict):
        raise PartyToolError("the terms must be a JSON object")
    digest = hashlib.sha256(canonical_json(terms)).hexdigest()
    if digest != terms_sha256:
        raise PartyToolError(
            f"the terms shown hash to {digest}, not to the payload's terms_sha256 {terms_sha256}: "
            "they are not what you would sign; not signing"
        )
    return terms


_OTHER_PURPOSES = {
    payloads.PURPOSE_LOGIN: "this is a login payload (notary.login.v1): notary login --key DIR --api URL "
    "signs it for you and prints a token (or add --login to sign it here)",
    payloads.PURPOSE_ENROL: "this is an enrolment payload (notary.enrol.v1): notary enrol --key DIR "
    "--platform-id P --name N --id-number X makes and signs it",
    "notary.enrol.v2": "this is an enrolment payload (notary.enrol.v2): notary enrol makes and signs it",
    "notary.report.v1": "this is a report payload (notary.report.v1): notary report lodge --key DIR "
    "--platform-id P FILE signs and lodges reports",
}


def describe(payload: bytes, *, allow_login: bool) -> dict[str, Any]:
    """What the payload commits its signer to; refuses anything that is not a payload to sign.

    Contract payloads (``notary.sign.v1``, ``notary.decline.v1``) always; a login payload only
    with ``allow_login``, so nobody can pass a login off as a contract or the reverse.
    """
    try:
        fields = parse_canonical_json(payload, what="the payload")
    except MalformedInput as exc:
        raise PartyToolError(f"refusing to sign: {exc.message}") from exc
    if not isinstance(fields, dict):
        raise PartyToolError("refusing to sign: the payload is not a JSON object")
    purpose = fields.get("purpose")
    if allow_login:
        if purpose != payloads.PURPOSE_LOGIN:
            raise PartyToolError(
                "--login signs login payloads only (notary.login.v1); without --login, notary sign "
                "signs contract payloads"
            )
        expected = {"purpose", "challenge", "key_fingerprint"}
    elif purpose in payloads.CONTRACT_PURPOSES:
        expected = {
            "purpose",
            "contract_id",
            "platform_id",
            "role",
            "party_id",
            "document_sha256",
            "terms_sha256",
        }
    elif purpose in _OTHER_PURPOSES:
        raise PartyToolError(f"refusing to sign: {_OTHER_PURPOSES[purpose]}")
    else:
        raise PartyToolError(
            f"refusing to sign a payload of purpose {purpose!r}: notary sign signs contract payloads "
            "(notary.sign.v1, notary.decline.v1); save the answer of GET /api/v1/contracts/<id>/"
            "signing-payload?role=<your role> and sign that file"
        )
    if set(fields) != expected:
        raise PartyToolError("refusing to sign: the payload's fields are not those of its purpose")
    return fields
