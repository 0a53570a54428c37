"""Helpers of ``scripts/bench.py``: corpus derivation, measured phases, HTTP load, report."""
