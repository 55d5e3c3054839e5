"""Tests of harness serve: signatures, the app, the crash campaign."""
