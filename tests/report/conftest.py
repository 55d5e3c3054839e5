"""Fixtures for the report tests; the builders live in ``_report_records`` (a unique module
name: a test module's ``from conftest import`` could meet another room's conftest)."""

from _report_records import empty_ledger, ledger, ledger_url

__all__ = ["empty_ledger", "ledger", "ledger_url"]
