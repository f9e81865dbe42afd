"""The benchmark's platform, parties and contracts: enrolled and signed like real clients do.

Parties are made with the notary's own party tools (``notary keygen`` / ``notary enrol``
logic); investors sign with Ed25519 and borrowers with ECDSA P-256, so both verifications
the service does are exercised. Documents are small and all different (their size is a
setting), so every filing stores a new blob.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load import Connection
from notary.cli import party_tools

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(rng: random.Random) -> str:
    """A GB 11643 resident ID number with a correct check digit."""
    body = "110102" + f"{rng.randint(1950, 1999):04d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body += f"{rng.randint(0, 999):03d}"
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


@dataclass
class Population:
    """A platform's token and its enrolled parties, with their keys (to sign as they would)."""

    platform_id: str
    token: str
    investors: list[str] = field(default_factory=list)
    borrowers: list[str] = field(default_factory=list)
    keys: dict[str, party_tools.PartyKey] = field(default_factory=dict)

    @classmethod
    def enrol(
        cls, conn: Connection, platform_id: str, token: str, key_dir: Path, *, pairs: int = 5, seed: int = 1
    ) -> Population:
        rng = random.Random(seed)
        population = cls(platform_id, token)
        for index in range(pairs * 2):
            role = "investor" if index % 2 == 0 else "borrower"
            folder = key_dir / f"{role}-{index}"
            key = party_tools.generate(folder, "ed25519" if role == "investor" else "p256")
            body = party_tools.enrolment_body(
                key,
                folder=folder,
                platform_id=platform_id,
                name=f"{role} {index}",
                id_number=resident_id(rng),
            )
            party_id = conn.json("POST", "/api/v1/parties", body, token=token, expect=(201,))["party_id"]
            population.keys[party_id] = key
            (population.investors if role == "investor" else population.borrowers).append(party_id)
        return population

    def filing(self, index: int, tag: str, document_bytes: int) -> dict[str, Any]:
        """One ``POST /contracts`` JSON item: a unique small document and realistic terms."""
        head = f"%PDF-1.4\n% notary benchmark {tag} contract {index}\n".encode()
        document = head + b"x" * max(0, document_bytes - len(head))
        pair = index % len(self.investors)
        return {
            "document_base64": base64.b64encode(document).decode(),
            "media_type": "application/pdf",
            "terms": {
                "investor": self.investors[pair],
                "borrower": self.borrowers[pair],
                "amount": f"{10000 + index % 90000}.00",
                "currency": "CNY",
                "annual_rate": "0.0800",
                "term_months": 12,
                "start_date": "2026-12-01",
                "external_ref": f"bench-{tag}-{index}",
            },
        }

    def filing_body(self, index: int, tag: str, document_bytes: int) -> bytes:
        return json.dumps(self.filing(index, tag, document_bytes)).encode()

    def batch_body(self, start: int, count: int, tag: str, document_bytes: int) -> bytes:
        items = [self.filing(start + i, tag, document_bytes) for i in range(count)]
        return json.dumps({"contracts": items}).encode()

    def sign(self, filed: dict[str, Any], role: str) -> str:
        """The role's signature (base64) over the signing payload of a filing answer."""
        party_id = filed["terms"][role]
        payload = base64.b64decode(filed["signing_payloads"][role]["payload_base64"])
        return base64.b64encode(self.keys[party_id].sign(payload)).decode()
