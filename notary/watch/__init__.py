"""Watchers outside the operator's hands: the witness, the mirror and the monitor.

Each is its own program with its own keys and storage, meant to run on another machine
under someone else's control. They speak to the notary only over its public HTTP routes and
the C2SP protocols, and import nothing of the service (``notary.services``, ``notary.runtime``).
"""
