"""Throughput benchmark of the document pipeline (python -m bench.run [--quick])."""
