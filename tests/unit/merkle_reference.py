"""A literal, slow transcription of the RFC 9162 / MTC draft definitions, to test against.

MTH, PATH and SUBPROOF are written as the RFC states them (recursion on lists), and
SUBTREE_SUBPROOF as the MTC draft states it; nothing is shared with notary.verify except the
two hash functions. Results are cached per range, so a tree of a few hundred leaves is quick.
"""

from __future__ import annotations

import hashlib
from functools import cache

from notary.verify.merkle.proofs import leaf_hash, node_hash


def largest_power_of_two_below(n: int) -> int:
    """k with k < n <= 2k (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class ReferenceTree:
    """The tree over a fixed list of leaf hashes; every method follows the RFC text."""

    def __init__(self, leaf_hashes: list[bytes]) -> None:
        self.leaves = tuple(leaf_hashes)
        self.mth = cache(self._mth)

    @classmethod
    def of_bytes(cls, n: int) -> ReferenceTree:
        """The tree d[i] = bytes([i % 256]) of the MTC draft's vectors."""
        return cls([leaf_hash(bytes([i % 256])) for i in range(n)])

    def _mth(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n == 1:
            return self.leaves[lo]
        k = largest_power_of_two_below(n)
        return node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))

    def root(self, size: int) -> bytes:
        return self.mth(0, size)

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        """PATH(m, D[lo:hi]) with m relative to lo."""
        n = hi - lo
        if n == 1:
            return []
        k = largest_power_of_two_below(n)
        if m < k:
            return [*self.path(m, lo, lo + k), self.mth(lo + k, hi)]
        return [*self.path(m - k, lo + k, hi), self.mth(lo, lo + k)]

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self.path(index, 0, size)

    def subproof(self, m: int, lo: int, hi: int, known: bool) -> list[bytes]:
        """SUBPROOF(m, D[lo:hi], b) of RFC 9162 section 2.1.4.1."""
        n = hi - lo
        if m == n:
            return [] if known else [self.mth(lo, hi)]
        k = largest_power_of_two_below(n)
        if m <= k:
            return [*self.subproof(m, lo, lo + k, known), self.mth(lo + k, hi)]
        return [*self.subproof(m - k, lo + k, hi, False), self.mth(lo, lo + k)]

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        return self.subproof(size1, 0, size2, True)

    def subtree_subproof(self, start: int, end: int, lo: int, hi: int, known: bool) -> list[bytes]:
        """SUBTREE_SUBPROOF of the MTC draft, start and end relative to lo."""
        n = hi - lo
        if start == 0 and end == n:
            return [] if known else [self.mth(lo, hi)]
        k = largest_power_of_two_below(n)
        if end <= k:
            return [*self.subtree_subproof(start, end, lo, lo + k, known), self.mth(lo + k, hi)]
        if start >= k:
            return [*self.subtree_subproof(start - k, end - k, lo + k, hi, known), self.mth(lo, lo + k)]
        return [*self.subtree_subproof(0, end - k, lo + k, hi, False), self.mth(lo, lo + k)]

    def subtree_consistency_proof(self, start: int, end: int, size: int) -> list[bytes]:
        if start == end:
            return []
        return self.subtree_subproof(start, end, 0, size, True)


def reference_is_subtree(start: int, end: int) -> bool:
    """The MTC draft's definition, spelled out: the width's power-of-two ceiling divides start."""
    if start < 0 or end < start:
        return False
    if start == end:
        return True
    ceiling = 1
    while ceiling < end - start:
        ceiling *= 2
    return start % ceiling == 0


def inclusion_proof_length(index: int, size: int) -> int:
    """The length of PATH(index, D[size]), by the RFC's recursion on sizes alone."""
    length = 0
    while size > 1:
        k = largest_power_of_two_below(size)
        if index < k:
            size = k
        else:
            index, size = index - k, size - k
        length += 1
    return length


def subtree_consistency_proof_length(start: int, end: int, size: int) -> int:
    """The length of SUBTREE_PROOF(start, end, D[size]) by the draft's recursion on sizes alone."""
    if start == end:
        return 0
    length, known = 0, True
    while not (start == 0 and end == size):
        k = largest_power_of_two_below(size)
        if end <= k:
            size = k
        elif start >= k:
            start, end, size = start - k, end - k, size - k
        else:
            start, end, size, known = 0, end - k, size - k, False
        length += 1
    return length + (0 if known else 1)
