"""Wirepress enrich service."""
