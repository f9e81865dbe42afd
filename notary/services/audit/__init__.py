"""The audit trail of every read and act, and ``notary audit``, which re-derives every stored hash."""
