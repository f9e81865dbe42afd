"""RFC 9162 (RFC 6962) Merkle tree hashing and proof verification.

Everything here is bytes and integers in, ``None`` (or a hash) out, or an exception. Inputs
are checked before any hashing, in this order, so every refusal has one precise cause:
coordinates (:class:`IndexOutOfRange`, :class:`InvalidSubtree`), hash lengths
(:class:`MalformedHash`), the number of proof hashes (:class:`WrongProofSize`), and only
then the recomputed root (:class:`RootMismatch`).

One walk serves every proof kind. An inclusion proof for leaf ``i`` is the consistency
proof of the one-leaf subtree ``[i, i+1)``; an RFC 9162 consistency proof from size ``m``
is the consistency proof of the subtree ``[0, m)``; both are special cases of the subtree
consistency proofs of draft-ietf-plants-merkle-tree-certs, whose verification procedure
generalises RFC 9162 section 2.1.4.2. How a server builds proofs from stored nodes is in
:mod:`notary.verify.merkle.plan`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from notary.verify.errors import MalformedInput, VerificationError

HASH_SIZE = 32
#: MTH({}) of RFC 9162 section 2.1.1: the root of the empty tree.
EMPTY_ROOT = hashlib.sha256(b"").digest()
#: Tree sizes and indices are uint64 in RFC 9162 and in every implementation we agree with.
MAX_TREE_SIZE = 2**64 - 1

_sha256 = hashlib.sha256


class ProofError(VerificationError):
    """A Merkle proof, or the hashes and coordinates given with it, does not check out."""

    code = "merkle_proof_invalid"


class MalformedHash(ProofError, MalformedInput):
    """A leaf hash, root or proof hash that is not 32 bytes (also a :class:`MalformedInput`)."""

    code = "malformed_hash"


class IndexOutOfRange(ProofError):
    """Coordinates that name nothing in the tree: index >= size, size1 > size2, size1 == 0, ..."""

    code = "index_out_of_range"


class InvalidSubtree(IndexOutOfRange):
    """``[start, end)`` is not a subtree: ``start`` is not a multiple of BIT_CEIL(end - start)."""

    code = "invalid_subtree"


class WrongProofSize(ProofError):
    """The proof has more or fewer hashes than a proof for these coordinates must have."""

    code = "wrong_proof_size"


class RootMismatch(ProofError):
    """The proof is well formed but leads to another root than the one given."""

    code = "root_mismatch"


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d): the hash of one leaf's bytes."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return _sha256(b"\x01" + left + right).digest()


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """The tree head of a whole list of leaf hashes, computed level by level (reference, O(n)).

    Pairing neighbours and lifting an odd last node unchanged gives exactly the RFC 9162
    tree (its left subtrees are the largest powers of two). Meant for tests and small trees;
    raises :class:`MalformedHash` if a leaf hash is not 32 bytes.
    """
    level = list(leaf_hashes)
    for value in level:
        _check_hash(value, "leaf hash")
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def is_subtree(start: int, end: int) -> bool:
    """True when ``[start, end)`` is a subtree in the sense of the MTC draft (section 4.1).

    That is ``0 <= start <= end`` and ``start`` a multiple of BIT_CEIL(end - start). Since
    draft -06 the empty ranges ``[x, x)`` count as subtrees too (hash: the empty root).
    """
    if not 0 <= start <= end:
        return False
    if start == end:
        return True
    width = 1 << (end - start - 1).bit_length()  # BIT_CEIL(end - start)
    return start % width == 0


# ---------------------------------------------------------------------------------------------
# The walk. Cursors f, s, t are the subtree's first leaf, its last leaf and the tree's last
# leaf, shifted right once per level climbed. Each proof hash is folded in at one level:
# _LEFT_IN (a left sibling inside the subtree: extends both the subtree hash and the root),
# _LEFT_OUT (a left sibling above the subtree: extends the root only), or _RIGHT (a right
# sibling: extends the root only). The kinds depend on the coordinates alone, so the walk is
# planned before any hash is read and the proof's length is known exactly.
_RIGHT, _LEFT_IN, _LEFT_OUT = 0, 1, 2


def _plan_walk(start: int, end: int, size: int) -> tuple[bool, list[int]]:
    """Return (whether the proof's first hash is the seed, the kind of every following hash)."""
    f, s, t = start, end - 1, size - 1
    if s == t:
        # Flush with the tree's right edge: the subtree is itself a node of the tree.
        while f != s:
            f, s, t = f >> 1, s >> 1, t >> 1
    else:
        # Climb to the largest perfect subtree that ends where the subtree ends.
        while f != s and s & 1:
            f, s, t = f >> 1, s >> 1, t >> 1
    seed_in_proof = f != s
    kinds: list[int] = []
    while t:
        if s & 1 or s == t:
            kinds.append(_LEFT_IN if f < s else _LEFT_OUT)
            # A last node with no right sibling is lifted unchanged until it is a right child.
            while not s & 1:
                f, s, t = f >> 1, s >> 1, t >> 1
        else:
            kinds.append(_RIGHT)
        f, s, t = f >> 1, s >> 1, t >> 1
    return seed_in_proof, kinds


def _fold(seed: bytes, kinds: list[int], proof: Sequence[bytes]) -> tuple[bytes, bytes]:
    """Fold ``proof`` (one hash per kind) into (the subtree hash, the tree root)."""
    sub = root = seed
    for kind, sibling in zip(kinds, proof, strict=True):
        if kind == _RIGHT:
            root = _sha256(b"\x01" + root + sibling).digest()
        else:
            root = _sha256(b"\x01" + sibling + root).digest()
            if kind == _LEFT_IN:
                sub = _sha256(b"\x01" + sibling + sub).digest()
    return sub, root


def _check_size(value: int, what: str) -> None:
    if not 0 <= value <= MAX_TREE_SIZE:
        raise IndexOutOfRange(f"{what} {value} is not a uint64", details={what.replace(" ", "_"): value})


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise MalformedHash(f"{what} is {len(value)} bytes, not {HASH_SIZE}", details={"what": what})


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for position, value in enumerate(proof):
        _check_hash(value, f"proof hash {position}")


def _check_proof_size(proof: Sequence[bytes], expected: int) -> None:
    if len(proof) != expected:
        raise WrongProofSize(
            f"proof has {len(proof)} hashes, {expected} expected",
            details={"got": len(proof), "expected": expected},
        )


def _check_match(computed: bytes, expected: bytes, what: str) -> None:
    if computed != expected:
        raise RootMismatch(
            f"proof leads to another {what}",
            details={"what": what, "computed": computed.hex(), "expected": expected.hex()},
        )


def root_from_inclusion_proof(
    *, leaf_hash: bytes, leaf_index: int, tree_size: int, proof: Sequence[bytes]
) -> bytes:
    """The root that ``proof`` (RFC 9162 section 2.1.3) leads to from ``leaf_hash`` at ``leaf_index``.

    Raises :class:`IndexOutOfRange` (``leaf_index >= tree_size``), :class:`MalformedHash`,
    :class:`WrongProofSize`.
    """
    return _inclusion_root(leaf_hash, leaf_index, tree_size, proof, None)


def verify_inclusion(
    *, leaf_hash: bytes, leaf_index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check an inclusion proof (RFC 9162 section 2.1.3.2); returns None or raises.

    Raises :class:`IndexOutOfRange`, :class:`MalformedHash`, :class:`WrongProofSize` or
    :class:`RootMismatch`, in that order of checking.
    """
    computed = _inclusion_root(leaf_hash, leaf_index, tree_size, proof, root)
    _check_match(computed, root, "root")


def _inclusion_root(
    leaf: bytes, leaf_index: int, tree_size: int, proof: Sequence[bytes], root: bytes | None
) -> bytes:
    _check_size(tree_size, "tree size")
    _check_size(leaf_index, "leaf index")
    if leaf_index >= tree_size:
        raise IndexOutOfRange(
            f"leaf index {leaf_index} is not below tree size {tree_size}",
            details={"leaf_index": leaf_index, "tree_size": tree_size},
        )
    _check_hash(leaf, "leaf hash")
    if root is not None:
        _check_hash(root, "root")
    _check_proof_hashes(proof)
    _, kinds = _plan_walk(leaf_index, leaf_index + 1, tree_size)
    _check_proof_size(proof, len(kinds))
    return _fold(leaf, kinds, proof)[1]


def verify_consistency(*, size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Check that the tree of ``size2`` extends the tree of ``size1`` (RFC 9162 section 2.1.4.2).

    ``size1 == size2`` takes an empty proof and equal roots. ``size1 == 0`` is refused: a
    proof from the empty tree proves nothing, and asking for one is a caller's mistake
    (transparency-dev/merkle refuses it too). Raises :class:`IndexOutOfRange` (also for
    ``size1 > size2``), :class:`MalformedHash`, :class:`WrongProofSize`, :class:`RootMismatch`.
    """
    _check_size(size1, "size1")
    _check_size(size2, "size2")
    if size1 > size2:
        raise IndexOutOfRange(
            f"size1 {size1} is above size2 {size2}", details={"size1": size1, "size2": size2}
        )
    if size1 == 0:
        raise IndexOutOfRange("a consistency proof from the empty tree proves nothing", details={"size1": 0})
    _check_subtree_proof(
        0, size1, size2, proof, first=root1, second=root2, names=("first root", "second root")
    )


def verify_subtree_inclusion(
    *, leaf_hash: bytes, leaf_index: int, start: int, end: int, proof: Sequence[bytes], subtree_hash: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``leaf_index`` of the subtree ``[start, end)`` (MTC draft 4.3).

    The proof is an ordinary inclusion proof inside the subtree. Raises
    :class:`InvalidSubtree`, :class:`IndexOutOfRange` (index outside the subtree),
    :class:`MalformedHash`, :class:`WrongProofSize`, :class:`RootMismatch`.
    """
    _check_subtree(start, end)
    _check_size(leaf_index, "leaf index")
    if not start <= leaf_index < end:
        raise IndexOutOfRange(
            f"leaf index {leaf_index} is outside [{start}, {end})",
            details={"leaf_index": leaf_index, "start": start, "end": end},
        )
    verify_inclusion(
        leaf_hash=leaf_hash,
        leaf_index=leaf_index - start,
        tree_size=end - start,
        proof=proof,
        root=subtree_hash,
    )


def verify_subtree_consistency(
    *, start: int, end: int, tree_size: int, proof: Sequence[bytes], subtree_hash: bytes, root: bytes
) -> None:
    """Check that ``[start, end)`` with ``subtree_hash`` is part of the tree ``tree_size`` with ``root``.

    MTC draft section 4.4.3. An empty subtree ``[x, x)`` (x <= tree_size) takes an empty
    proof and the empty root as its hash, and says nothing about ``root``, which is then
    only checked for form: that is what the draft specifies and its vectors expect.
    Raises :class:`InvalidSubtree`, :class:`IndexOutOfRange` (``end > tree_size``),
    :class:`MalformedHash`, :class:`WrongProofSize`, :class:`RootMismatch`.
    """
    _check_subtree(start, end)
    _check_size(tree_size, "tree size")
    if end > tree_size:
        raise IndexOutOfRange(
            f"subtree [{start}, {end}) ends beyond tree size {tree_size}",
            details={"start": start, "end": end, "tree_size": tree_size},
        )
    if start == end:
        _check_hash(subtree_hash, "subtree hash")
        _check_hash(root, "root")
        _check_proof_hashes(proof)
        _check_proof_size(proof, 0)
        _check_match(EMPTY_ROOT, subtree_hash, "subtree hash")
        return
    _check_subtree_proof(
        start, end, tree_size, proof, first=subtree_hash, second=root, names=("subtree hash", "root")
    )


def _check_subtree(start: int, end: int) -> None:
    _check_size(start, "start")
    _check_size(end, "end")
    if not is_subtree(start, end):
        raise InvalidSubtree(f"[{start}, {end}) is not a subtree", details={"start": start, "end": end})


def _check_subtree_proof(
    start: int,
    end: int,
    size: int,
    proof: Sequence[bytes],
    *,
    first: bytes,
    second: bytes,
    names: tuple[str, str],
) -> None:
    _check_hash(first, names[0])
    _check_hash(second, names[1])
    _check_proof_hashes(proof)
    seed_in_proof, kinds = _plan_walk(start, end, size)
    _check_proof_size(proof, len(kinds) + seed_in_proof)
    if seed_in_proof:
        sub, root = _fold(proof[0], kinds, proof[1:])
        _check_match(sub, first, names[0])
    else:
        root = _fold(first, kinds, proof)[1]
    _check_match(root, second, names[1])
