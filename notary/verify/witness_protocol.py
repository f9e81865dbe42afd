"""The C2SP tlog-witness ``add-checkpoint`` request body, for the log that sends it and the
witness that reads it:

    old <size>\\n
    <base64 consistency proof hash>\\n   (0 to 63 lines)
    \\n
    <signed checkpoint note>

and the witness's ``409 Conflict`` answer, ``<size>\\n`` as ``text/x.tlog.size``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from notary.verify.encoding import b64decode, b64encode
from notary.verify.errors import MalformedInput

__all__ = [
    "MAX_PROOF_LINES",
    "SIZE_MEDIA_TYPE",
    "AddCheckpoint",
    "MalformedWitnessRequest",
    "format_add_checkpoint",
    "format_size",
    "parse_add_checkpoint",
    "parse_size",
]

MAX_PROOF_LINES = 63
SIZE_MEDIA_TYPE = "text/x.tlog.size"
MAX_REQUEST_BYTES = 64 * 1024
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


class MalformedWitnessRequest(MalformedInput):
    """An ``add-checkpoint`` body or a size answer that is not as tlog-witness defines it."""

    code = "malformed_witness_request"


@dataclass(frozen=True)
class AddCheckpoint:
    """What a log asks a witness to cosign: ``note`` from ``old_size`` with ``proof``."""

    old_size: int
    proof: tuple[bytes, ...]
    note: bytes


def _size(text: str, what: str) -> int:
    if not _SIZE.fullmatch(text) or int(text) > 2**64 - 1:
        raise MalformedWitnessRequest(f"{what} must be a decimal size without leading zeros")
    return int(text)


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], note: str | bytes) -> bytes:
    """The request body; raises :class:`MalformedWitnessRequest` for more than 63 proof hashes."""
    if len(proof) > MAX_PROOF_LINES:
        raise MalformedWitnessRequest(f"at most {MAX_PROOF_LINES} consistency proof lines")
    lines = [f"old {old_size}", *(b64encode(item) for item in proof)]
    head = "".join(f"{line}\n" for line in lines) + "\n"
    return head.encode("ascii") + (note.encode("utf-8") if isinstance(note, str) else note)


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Split a request body; the note is not checked here. Raises :class:`MalformedWitnessRequest`."""
    if len(body) > MAX_REQUEST_BYTES:
        raise MalformedWitnessRequest("the request is too large")
    head, blank, note = body.partition(b"\n\n")
    if not blank:
        raise MalformedWitnessRequest("no empty line before the checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError as exc:
        raise MalformedWitnessRequest("the old size and proof lines are ASCII") from exc
    first, proof_lines = lines[0], lines[1:]
    if not first.startswith("old "):
        raise MalformedWitnessRequest("the first line is 'old <size>'")
    old_size = _size(first[4:], "the old size")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise MalformedWitnessRequest(f"at most {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for line in proof_lines:
        try:
            value = b64decode(line, what="consistency proof line")
        except MalformedInput as exc:
            raise MalformedWitnessRequest(exc.message) from exc
        if len(value) != 32:
            raise MalformedWitnessRequest("each consistency proof line is one 32-byte hash")
        proof.append(value)
    return AddCheckpoint(old_size, tuple(proof), note)


def format_size(size: int) -> bytes:
    """The 409 answer's body: the size and a newline."""
    return f"{size}\n".encode("ascii")


def parse_size(body: bytes) -> int:
    """Read a 409 answer's body; raises :class:`MalformedWitnessRequest`."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as exc:
        raise MalformedWitnessRequest("a size answer is ASCII") from exc
    if not text.endswith("\n"):
        raise MalformedWitnessRequest("a size answer ends with a newline")
    return _size(text[:-1], "the witness's size")
