"""Wirepress render service."""
