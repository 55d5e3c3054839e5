"""CLI subcommands, one module each; registered by harness.cli."""
