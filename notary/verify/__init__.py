"""The pure core of the notary: everything a verifier needs, and nothing else.

This package imports the standard library, ``cryptography``, ``asn1crypto`` and ``rfc8785``
only, never Flask, SQLAlchemy or another ``notary`` package, so that the offline verifier a
court runs is this package plus a command line.
"""
