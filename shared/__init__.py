"""Wirepress shared package: event models, stream names, settings, storage, logging."""
