"""Checks a published site must pass (checks.py), and the npm tools they run (package.json)."""
