"""Offline checks of the evidence certificate PDF, beside :mod:`notary.verify`.

Checking a certificate means checking a PAdES signature over the whole byte range, that no
incremental update follows it, and its RFC 3161 timestamp; that may use pyHanko, which
:mod:`notary.verify` must not load. So it lives here: the court's offline verifier is the two
packages together. It may import :mod:`notary.verify` (and :mod:`notary.display`) and nothing
else of the notary: the import contracts in ``pyproject.toml`` say so.
"""
