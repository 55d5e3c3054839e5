"""pytest plugin for the harness (being built; loaded through the pytest11 entry point)."""
