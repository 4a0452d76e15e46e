"""The name book in a real Valkey: replicas share it, the first to name an entity wins, and a
story's tags come out under the archive's slugs through the handler that enrich runs."""

from __future__ import annotations

import asyncio

import pytest

from services.enrich.adapters import RedisTagNames
from services.enrich.handlers import archive_names
from services.enrich.tagging import slugify_tag
from shared.broker import create_redis
from shared.models import Tag
from tests.stack_settings import StackSettings

pytestmark = pytest.mark.integration


def _tag(kind: str, name: str) -> Tag:
    return Tag(type=kind, name=name, slug=slugify_tag(kind, name), confidence=0.8)


async def test_replicas_share_the_book_and_the_first_to_name_an_entity_wins(
    settings: StackSettings,
) -> None:
    redis = create_redis(settings.redis_url)
    a, b = RedisTagNames(redis), RedisTagNames(redis)
    first = await archive_names([_tag("person", "Zelensky")], a)
    assert first[0].slug == "person-zelensky"
    # Another replica, a later story, a fuller and differently spelled name: same page.
    full = await archive_names([_tag("person", "Volodymyr Zelenskyy")], b)
    assert (full[0].slug, full[0].name) == ("person-zelensky", "Volodymyr Zelenskyy")
    again = await archive_names([_tag("person", "Volodymyr Zelensky")], a)
    assert (again[0].slug, again[0].name) == ("person-zelensky", "Volodymyr Zelenskyy")

    # Two replicas naming a new body at once, by its long form and by its acronym: never two
    # pages for it, whichever writes first.
    for first, second in zip("CDEFGHJLMNPQSTVWXYZ", "ZYXWVTSQPNMLJHGFEDC", strict=True):
        long_form = f"{first}ola {second}ola Board"
        named = await asyncio.gather(
            archive_names([_tag("organisation", long_form)], a),
            archive_names([_tag("organisation", f"{first}{second}B")], b),
        )
        assert len({n[0].slug for n in named}) == 1, named
    await archive_names([_tag("organisation", "Kenya Revenue Authority")], a)
    later_a = await archive_names([_tag("organisation", "KRA")], a)
    later_b = await archive_names([_tag("organisation", "Kenya Revenue Authority")], b)
    assert later_a[0].slug == later_b[0].slug
    assert later_a[0].name == later_b[0].name == "Kenya Revenue Authority"
    await redis.aclose()
