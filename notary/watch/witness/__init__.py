"""``notary witness``: a C2SP tlog-witness that cosigns only consistent checkpoints."""
