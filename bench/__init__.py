"""Benchmarks with figures, run as scripts from the repository root (not timed tests)."""
