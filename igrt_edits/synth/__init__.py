"""Synthetic claim extracts and the benchmark that times a check on them."""
