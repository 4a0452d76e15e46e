"""Enrich: consumes wirepress:ingested and wirepress:republish; emits wirepress:enriched (and its
own link refreshes on wirepress:republish).

Tags each story (people, organisations, places, IPTC Media Topics, keywords), picks its READ ALSO
inserts and Related Posts from the whole archive, and keeps the pages linking a story current as
it is corrected or killed. Run it with `python -m services.enrich`
(`services.enrich.app:create_app`). The names below are its public entry points: the inspect
commands (`wirepress tag`, `wirepress related`) use them, so they give what the service gives.
"""

from services.enrich.handlers import tags_for
from services.enrich.relevance import related_for_corpus
from services.enrich.relevance.embeddings import load_embedder
from services.enrich.text import StoryText, story_text

__all__ = ["StoryText", "load_embedder", "related_for_corpus", "story_text", "tags_for"]
