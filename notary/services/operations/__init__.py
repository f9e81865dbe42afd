"""Running the notary: what needs an operator's action (``notary doctor``, ``/healthz``)."""
