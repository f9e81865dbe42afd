"""The witness's one rule: cosign a checkpoint only when it is consistent with everything the
witness cosigned before for its log (C2SP tlog-witness ``add-checkpoint``).

Answers follow the specification, in its order: 400 malformed; 404 unknown origin; 403 no
signature by the log's key verifies; 400 old size above the checkpoint's; 409 (``text/x.tlog.size``,
the latest size) when the old size is not the last cosigned one; 422 a consistency proof that
does not verify; 409 the same size with another root. Once the log's signature verified, a
checkpoint that shows misbehaviour (a fork: another root for a size already cosigned; a
rollback: a tree smaller than the last cosigned; a proof that fails) is kept as evidence with
the request and what the witness had cosigned before, then refused.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from notary.signing.cosigner import Cosigner
from notary.verify.encoding import b64encode
from notary.verify.errors import MalformedInput, NotaryError
from notary.verify.merkle import proofs as merkle
from notary.verify.note import (
    SIGNATURE_PREFIX,
    Checkpoint,
    NoteVerifierKey,
    parse_checkpoint,
    parse_note,
    verify_note,
)
from notary.verify.payloads import format_time
from notary.verify.witness_protocol import SIZE_MEDIA_TYPE, format_size, parse_add_checkpoint
from notary.watch.witness.state import Cosigned, WitnessState

log = logging.getLogger(__name__)

TEXT = "text/plain; charset=utf-8"
FORK, ROLLBACK, INCONSISTENT = "fork", "rollback", "inconsistent"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, content type, body."""

    status: int
    content_type: str
    body: bytes

    @classmethod
    def text(cls, status: int, message: str) -> Answer:
        return cls(status, TEXT, (message + "\n").encode("utf-8"))


class Witness:
    """Cosigns checkpoints of the configured logs (origin → trusted note keys)."""

    def __init__(
        self,
        cosigner: Cosigner,
        logs: Mapping[str, Sequence[NoteVerifierKey]],
        state: WitnessState,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.cosigner = cosigner
        self.logs = {origin: tuple(keys) for origin, keys in logs.items()}
        self.state = state
        self.clock = clock

    def add_checkpoint(self, body: bytes) -> Answer:
        """Handle one ``add-checkpoint`` request body; never raises for a client's input."""
        try:
            request = parse_add_checkpoint(body)
            note = parse_note(request.note)
        except MalformedInput as exc:
            return Answer.text(400, exc.message)
        origin = note.text.split("\n", 1)[0]
        keys = self.logs.get(origin)
        if keys is None:
            return Answer.text(404, f"unknown log origin {origin!r}")
        try:
            verified = verify_note(request.note, keys)
        except NotaryError as exc:
            return Answer.text(403, f"no signature by the log's key verifies: {exc.message}")
        try:
            checkpoint = parse_checkpoint(verified.text)
        except MalformedInput as exc:
            return Answer.text(400, exc.message)
        # Only the log's own verified signatures are kept and served, never foreign lines.
        signed = (
            verified.text
            + "\n"
            + "".join(
                f"{SIGNATURE_PREFIX}{sig.name} {b64encode(sig.key_hash + sig.signature)}\n"
                for sig in verified.verified
            )
        )
        return self._advance(checkpoint, request.old_size, request.proof, signed, body)

    def _advance(
        self, checkpoint: Checkpoint, old_size: int, proof: tuple[bytes, ...], signed: str, request: bytes
    ) -> Answer:
        now = self.clock()
        evidence: tuple[str, str, str | None] | None = None
        with self.state.transaction() as connection:
            latest = self.state.latest_in(connection, checkpoint.origin)
            latest_size = latest.tree_size if latest else 0
            if latest and checkpoint.size < latest.tree_size:
                earlier = self.state.cosigned_at_size(connection, checkpoint.origin, checkpoint.size)
                if earlier is None or earlier.root_hash != checkpoint.root_hash:
                    kind = FORK if earlier else ROLLBACK
                    evidence = (
                        kind,
                        f"size {checkpoint.size} after {latest.tree_size} was cosigned",
                        latest.cosigned_note,
                    )
            if old_size > checkpoint.size:
                answer = Answer.text(400, f"old size {old_size} is above the checkpoint's {checkpoint.size}")
            elif old_size != latest_size:
                answer = Answer(409, SIZE_MEDIA_TYPE, format_size(latest_size))
            elif old_size == 0 and proof:
                answer = Answer.text(422, "the consistency proof from size 0 must be empty")
            elif latest and checkpoint.size == latest.tree_size and checkpoint.root_hash != latest.root_hash:
                evidence = (FORK, f"another root for size {checkpoint.size}", latest.cosigned_note)
                answer = Answer.text(409, f"another root was cosigned for size {checkpoint.size}")
            else:
                answer = self._check_proof(latest, checkpoint, proof)
                if answer is None:
                    cosigned = Cosigned(
                        checkpoint.origin,
                        checkpoint.size,
                        checkpoint.root_hash,
                        signed,
                        self.cosigner.cosign(checkpoint.body, int(now.timestamp())),
                        format_time(now),
                    )
                    self.state.advance(connection, cosigned)
                    answer = Answer(200, TEXT, cosigned.cosignature.encode("utf-8"))
                else:
                    evidence = (
                        INCONSISTENT,
                        answer.body.decode().strip(),
                        latest.cosigned_note if latest else None,
                    )
        if evidence is not None:
            kind, reason, previous = evidence
            log.warning("witness: refused a %s checkpoint of %s: %s", kind, checkpoint.origin, reason)
            self.state.record_misbehaviour(
                origin=checkpoint.origin,
                kind=kind,
                reason=reason,
                request=request,
                checkpoint=signed,
                previous=previous,
                at=format_time(now),
            )
        return answer

    @staticmethod
    def _check_proof(
        latest: Cosigned | None, checkpoint: Checkpoint, proof: tuple[bytes, ...]
    ) -> Answer | None:
        if latest is None or latest.tree_size == checkpoint.size:
            return None
        try:
            merkle.verify_consistency(
                size1=latest.tree_size,
                size2=checkpoint.size,
                proof=proof,
                root1=latest.root_hash,
                root2=checkpoint.root_hash,
            )
        except NotaryError as exc:
            return Answer.text(422, f"the consistency proof does not verify: {exc.code}")
        return None

    def latest(self, origin: str) -> Cosigned | None:
        """The latest checkpoint cosigned for ``origin`` (the read extension)."""
        return self.state.latest(origin)
