"""Evidence handed out: the bundle of one contract and its certificate PDF."""
