"""A key's life after enrolment: revocation, rotation, and undoing an operator's identity
binding, each audited and logged as a leaf (``docs/formats.md`` sections 3 and 4)."""
