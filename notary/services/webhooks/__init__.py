"""Platform callbacks: subscriptions, the event outbox, signed deliveries and their log.

``docs/webhooks.md`` is the contract: event bodies, the ``Notary-Signature`` header, retries,
ordering and the address rules.
"""
