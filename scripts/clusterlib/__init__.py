"""Helpers of scripts/cluster: a small JSON-over-HTTP client and the feature self-test."""
