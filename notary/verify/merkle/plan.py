"""Building Merkle proofs from stored perfect subtrees, without ever loading the tree.

Storage keeps one hash per *complete* subtree, addressed by ``(level, index)``: the hash of
the leaves ``[index * 2**level, (index + 1) * 2**level)``. Level 0 nodes are the leaf hashes
themselves. Complete subtrees never change once the log has grown past them, so they are
written once and never updated. Every node of the RFC 9162 tree of any size is either such a
perfect subtree or lies on the tree's right edge, and a right-edge node's hash is the fold of
its perfect parts (at most one per bit of the tree size).

A request for a proof or a root goes in three steps, and only the middle one does I/O:

    plan = inclusion_proof_plan(leaf_index, tree_size)     # pure: which nodes are needed
    hashes = storage.read_nodes(plan.nodes)                 # one batched query
    proof = plan.assemble(hashes)                           # pure: the RFC 9162 proof

Reads per request (n = tree size, L = ceil(log2 n)): a root needs popcount(n) <= L nodes;
an inclusion or consistency proof needs at most 2L (one node per proof hash, plus the
perfect parts of the one right-edge hash a proof can hold); tests check these bounds.

Appending goes the same way: :func:`append_plan` names the nodes to read (the perfect
subtrees of the current tree, at most 64), :func:`append_leaves` returns every new node to
write, level 0 included, and the new root.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from notary.verify.errors import NotaryError
from notary.verify.merkle.proofs import (
    EMPTY_ROOT,
    HASH_SIZE,
    MAX_TREE_SIZE,
    IndexOutOfRange,
    InvalidSubtree,
    MalformedHash,
    is_subtree,
    node_hash,
)

#: ``(level, index)``: the perfect subtree over leaves ``[index << level, (index + 1) << level)``.
Node = tuple[int, int]


class MissingNode(NotaryError):
    """A node a plan needs was not among the hashes given: storage is incomplete or was misread."""

    code = "tree_node_missing"


def perfect_nodes(start: int, end: int) -> tuple[Node, ...]:
    """The largest perfect subtrees that tile ``[start, end)``, left to right.

    For a subtree or a right-edge range this is exactly the nodes whose fold is its hash.
    """
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append((level, start >> level))
        start += 1 << level
    return tuple(nodes)


def _fold_parts(parts: tuple[Node, ...], hashes: Mapping[Node, bytes]) -> bytes:
    # The RFC tree puts the largest power of two on the left, so the parts fold from the right.
    result = _lookup(hashes, parts[-1])
    for part in reversed(parts[:-1]):
        result = node_hash(_lookup(hashes, part), result)
    return result


def _lookup(hashes: Mapping[Node, bytes], node: Node) -> bytes:
    try:
        value = hashes[node]
    except KeyError:
        raise MissingNode(f"tree node {node} was not read", details={"node": list(node)}) from None
    if len(value) != HASH_SIZE:
        raise MalformedHash(f"stored node {node} is {len(value)} bytes", details={"node": list(node)})
    return value


def _unique(parts: Sequence[tuple[Node, ...]]) -> tuple[Node, ...]:
    return tuple(dict.fromkeys(node for part in parts for node in part))


@dataclass(frozen=True)
class ProofPlan:
    """The stored nodes a proof needs (``nodes``) and how they make up each proof hash (``parts``)."""

    parts: tuple[tuple[Node, ...], ...]
    nodes: tuple[Node, ...]

    @classmethod
    def _of_ranges(cls, ranges: Sequence[tuple[int, int]]) -> ProofPlan:
        parts = tuple(perfect_nodes(lo, hi) for lo, hi in ranges)
        return cls(parts, _unique(parts))

    def assemble(self, hashes: Mapping[Node, bytes]) -> list[bytes]:
        """The proof, bottom-up as RFC 9162 orders it. Raises :class:`MissingNode`, :class:`MalformedHash`."""
        return [_fold_parts(part, hashes) for part in self.parts]


@dataclass(frozen=True)
class RootPlan:
    """The stored nodes the hash of ``[start, end)`` needs; ``assemble`` returns that hash."""

    start: int
    end: int
    nodes: tuple[Node, ...]

    def assemble(self, hashes: Mapping[Node, bytes]) -> bytes:
        """The hash (the empty root for an empty range).

        Raises :class:`MissingNode`, :class:`MalformedHash`.
        """
        if not self.nodes:
            return EMPTY_ROOT
        return _fold_parts(self.nodes, hashes)


def _check_size(value: int, what: str) -> None:
    if not 0 <= value <= MAX_TREE_SIZE:
        raise IndexOutOfRange(f"{what} {value} is not a uint64", details={what.replace(" ", "_"): value})


def root_plan(tree_size: int) -> RootPlan:
    """Plan for the root of the tree of ``tree_size`` leaves. Raises :class:`IndexOutOfRange`."""
    _check_size(tree_size, "tree size")
    return RootPlan(0, tree_size, perfect_nodes(0, tree_size))


def subtree_hash_plan(start: int, end: int) -> RootPlan:
    """Plan for the hash of the subtree ``[start, end)`` (MTC draft). Raises :class:`InvalidSubtree`."""
    _check_size(end, "end")
    if not is_subtree(start, end):
        raise InvalidSubtree(f"[{start}, {end}) is not a subtree", details={"start": start, "end": end})
    return RootPlan(start, end, perfect_nodes(start, end))


def _path_ranges(index: int, lo: int, hi: int) -> list[tuple[int, int]]:
    # RFC 9162 section 2.1.3.1 PATH(m, D[lo:hi]), walked from the top and then reversed.
    ranges = []
    while hi - lo > 1:
        mid = lo + (1 << ((hi - lo - 1).bit_length() - 1))
        if index < mid:
            ranges.append((mid, hi))
            hi = mid
        else:
            ranges.append((lo, mid))
            lo = mid
    ranges.reverse()
    return ranges


def _subproof_ranges(start: int, end: int, size: int) -> list[tuple[int, int]]:
    # RFC 9162 section 2.1.4.1 SUBPROOF, as generalised to subtrees by the MTC draft
    # (SUBTREE_SUBPROOF): walked from the top, then reversed so the seed comes first.
    ranges = []
    lo, hi, known = 0, size, True
    while not (start == lo and end == hi):
        mid = lo + (1 << ((hi - lo - 1).bit_length() - 1))
        if end <= mid:
            ranges.append((mid, hi))
            hi = mid
        elif start >= mid:
            ranges.append((lo, mid))
            lo = mid
        else:
            # Straddling the split (only a subtree starting at lo can): the verifier no longer
            # holds the node the walk descends into, so the proof must carry it.
            ranges.append((lo, mid))
            lo = start = mid
            known = False
    if not known:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def inclusion_proof_plan(leaf_index: int, tree_size: int) -> ProofPlan:
    """Plan for the inclusion proof of leaf ``leaf_index`` in the tree of ``tree_size``.

    Raises :class:`IndexOutOfRange` unless ``0 <= leaf_index < tree_size <= 2**64 - 1``.
    """
    _check_size(tree_size, "tree size")
    if not 0 <= leaf_index < tree_size:
        raise IndexOutOfRange(
            f"leaf index {leaf_index} is not below tree size {tree_size}",
            details={"leaf_index": leaf_index, "tree_size": tree_size},
        )
    return ProofPlan._of_ranges(_path_ranges(leaf_index, 0, tree_size))


def consistency_proof_plan(size1: int, size2: int) -> ProofPlan:
    """Plan for the consistency proof from ``size1`` to ``size2`` (empty when they are equal).

    Raises :class:`IndexOutOfRange` unless ``0 < size1 <= size2 <= 2**64 - 1``.
    """
    _check_size(size2, "size2")
    if not 0 < size1 <= size2:
        raise IndexOutOfRange(
            f"no consistency proof from size {size1} to size {size2}",
            details={"size1": size1, "size2": size2},
        )
    return ProofPlan._of_ranges(_subproof_ranges(0, size1, size2))


def subtree_inclusion_proof_plan(leaf_index: int, start: int, end: int) -> ProofPlan:
    """Plan for the inclusion proof of a leaf in the subtree ``[start, end)`` (MTC draft).

    Raises :class:`InvalidSubtree` or :class:`IndexOutOfRange`.
    """
    subtree_hash_plan(start, end)
    if not start <= leaf_index < end:
        raise IndexOutOfRange(
            f"leaf index {leaf_index} is outside [{start}, {end})",
            details={"leaf_index": leaf_index, "start": start, "end": end},
        )
    return ProofPlan._of_ranges(_path_ranges(leaf_index, start, end))


def subtree_consistency_proof_plan(start: int, end: int, tree_size: int) -> ProofPlan:
    """Plan for the consistency proof of the subtree ``[start, end)`` with the tree of ``tree_size``.

    An empty subtree's proof is empty. Raises :class:`InvalidSubtree` or
    :class:`IndexOutOfRange` (``end > tree_size``).
    """
    subtree_hash_plan(start, end)
    _check_size(tree_size, "tree size")
    if end > tree_size:
        raise IndexOutOfRange(
            f"subtree [{start}, {end}) ends beyond tree size {tree_size}",
            details={"start": start, "end": end, "tree_size": tree_size},
        )
    if start == end:
        return ProofPlan((), ())
    return ProofPlan._of_ranges(_subproof_ranges(start, end, tree_size))


@dataclass(frozen=True)
class Appended:
    """The outcome of appending leaves: the new size and root, and every node to store."""

    tree_size: int
    root: bytes
    nodes: dict[Node, bytes]


def append_plan(old_size: int) -> tuple[Node, ...]:
    """The stored nodes :func:`append_leaves` needs: the perfect subtrees of the current tree.

    Raises :class:`IndexOutOfRange` for a size outside uint64.
    """
    _check_size(old_size, "tree size")
    return perfect_nodes(0, old_size)


def append_leaves(
    old_size: int, existing: Mapping[Node, bytes], new_leaf_hashes: Sequence[bytes]
) -> Appended:
    """Append ``new_leaf_hashes`` to the tree of ``old_size``.

    ``existing`` holds (at least) the nodes :func:`append_plan` names. Returns every perfect
    subtree completed by the new leaves (level 0 included: the leaf hashes themselves) and
    the new root. Raises :class:`MissingNode`, :class:`MalformedHash`,
    :class:`IndexOutOfRange` (the tree would outgrow uint64).
    """
    _check_size(old_size + len(new_leaf_hashes), "new tree size")
    # The right edge as a stack of perfect subtrees, levels strictly decreasing; a new leaf
    # merges with equal-level neighbours, exactly like carrying in binary addition.
    stack = [(level, index, _lookup(existing, (level, index))) for level, index in append_plan(old_size)]
    created: dict[Node, bytes] = {}
    size = old_size
    for new_leaf in new_leaf_hashes:
        if len(new_leaf) != HASH_SIZE:
            raise MalformedHash(f"leaf hash {size} is {len(new_leaf)} bytes", details={"leaf_index": size})
        level, index, value = 0, size, new_leaf
        created[(0, index)] = value
        while stack and stack[-1][0] == level:
            value = node_hash(stack.pop()[2], value)
            level, index = level + 1, index >> 1
            created[(level, index)] = value
        stack.append((level, index, value))
        size += 1
    if not stack:
        return Appended(size, EMPTY_ROOT, created)
    root = stack[-1][2]
    for entry in reversed(stack[:-1]):
        root = node_hash(entry[2], root)
    return Appended(size, root, created)


def new_nodes(
    old_size: int, existing: Mapping[Node, bytes], new_leaf_hashes: Sequence[bytes]
) -> dict[Node, bytes]:
    """The nodes to store after appending; see :func:`append_leaves`, which also gives the root."""
    return append_leaves(old_size, existing, new_leaf_hashes).nodes
