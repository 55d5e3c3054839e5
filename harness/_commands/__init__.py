"""CLI subcommands, one module each; registered by harness.cli.

Each command imports the rooms it needs inside its function: ``harness --help``
and a usage error must answer at once, and a command must not pay for the
rooms another one uses (the ledger's SQLAlchemy, the report's pandas, the
chaos engine's Hypothesis).
"""
