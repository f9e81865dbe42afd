"""notary: files loan contracts, collects both parties' signatures, seals them into a transparency log."""

__version__ = "0.1.0"
