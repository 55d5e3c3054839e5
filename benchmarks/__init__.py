"""Benchmarks of the harness against what users would pick instead (``python -m benchmarks``).

Not part of the test suite; see ``benchmarks/README`` section in the project
README for how to run them and read the table.
"""
