"""The benchmark: ``python -m bench`` (``make bench``); see docs/benchmark.md."""
