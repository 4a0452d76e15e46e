"""Wirepress publish service."""
