"""What a rendered story costs Valkey while it is in flight, measured in Valkey itself."""

from __future__ import annotations

import json

import pytest

from services.render.handlers import handle_enriched
from services.render.pages import PageRenderer
from services.render.site import SiteInfo
from shared.broker import create_redis, encode_event
from shared.models import Article
from shared.streams import RENDERED
from tests.stack_settings import StackSettings
from tests.unit.test_render import DEMO, SITE, make_event

pytestmark = pytest.mark.integration


async def test_a_rendered_story_in_flight_costs_valkey_half_what_it_did(
    settings: StackSettings,
) -> None:
    """Each rendered story waiting for publish was its whole page as text in the stream (1.7 GB
    for 73k entries). The demo feed's rendered events, packed as render sends them and as text
    as it sent them before, side by side in Valkey's own accounting (MEMORY USAGE)."""
    renderer = PageRenderer(SiteInfo(url=SITE + "/", name="Wirepress"))
    redis = create_redis(settings.redis_url)
    for path in sorted((DEMO / "stories").glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["guid"] = raw.pop("uri")
        raw["subjects"] = raw.pop("subject", [])
        packed = handle_enriched(make_event(Article.model_validate(raw)), renderer)
        page = packed.page()
        assert page is not None
        as_text = packed.model_copy(update={"html": page.decode(), "html_gzip": None})
        await redis.xadd(RENDERED, {"__data__": await encode_event(packed)})
        await redis.xadd("test:rendered-as-text", {"__data__": await encode_event(as_text)})
    packed_bytes = int(await redis.memory_usage(RENDERED, samples=0))
    text_bytes = int(await redis.memory_usage("test:rendered-as-text", samples=0))
    await redis.aclose()
    assert packed_bytes < 0.5 * text_bytes, (packed_bytes, text_bytes)
