"""Filing contracts: the terms accepted, and idempotent single and batch filing."""
