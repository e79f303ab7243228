"""Operator tooling: the `fleet` command (process manager, seed, demo story, check)."""
