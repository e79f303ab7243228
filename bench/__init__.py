"""Benchmarks of the ticketing fleet: `python -m bench` prints a table and writes JSON figures."""
