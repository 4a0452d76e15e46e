"""Errors handlers raise to tell the delivery layer what to do with a message."""

from __future__ import annotations


class PermanentError(Exception):
    """Retrying cannot help (the event is invalid, the story cannot be handled): dead-letter it now."""


class RetryLater(Exception):
    """A transient condition (a lock held elsewhere, a server not answering): leave it pending."""
