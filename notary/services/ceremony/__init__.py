"""The signing ceremony: enrolled parties, their identity documents, and their signatures."""
