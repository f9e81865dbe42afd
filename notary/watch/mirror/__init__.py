"""``notary mirror``: a read-only copy of a notary's public log, checked, served on its own."""
