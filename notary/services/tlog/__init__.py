"""The transparency log: sequencing records, signed checkpoints, timestamps, and public reads."""
