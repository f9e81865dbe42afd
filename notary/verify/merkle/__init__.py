"""Merkle trees (RFC 9162): hashing, proof verification, and proofs planned from stored subtrees."""
