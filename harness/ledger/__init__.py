"""Ledger (SQLAlchemy): the only room that imports SQLAlchemy."""
