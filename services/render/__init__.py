"""Render: consumes wirepress:enriched and wirepress:published; emits wirepress:rendered.

Turns each enriched story into its article page (or a take-down), and keeps the site's listing
from what publish says it did: a story is listed once its page is up and delisted once it is
withdrawn, and every listing page it touches (the front page) is rebuilt about a second later.
Run it with `python -m services.render` (`services.render.app:create_app`).
"""
