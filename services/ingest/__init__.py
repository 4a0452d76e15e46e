"""Wirepress ingest service."""
