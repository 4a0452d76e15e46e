"""Publish: consumes wirepress:rendered (article and site pages); emits wirepress:published.

Writes each page to the site bucket with compare-and-set on its ETag, never letting an older
version win, takes killed stories' pages down, and says what it did in an `ArticlePublished`
(with the story's listing entry once its page is up), which render follows to keep the listings.
Run it with `python -m services.publish` (`services.publish.app:create_app`).
"""
