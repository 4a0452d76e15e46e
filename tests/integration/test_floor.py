"""The pipeline bench's floor (`bench.pipeline.floor`) does every essential step for real: each
story archived raw and its page, with related links from the archive, written to SeaweedFS, by
worker processes of their own."""

from __future__ import annotations

import gzip
import json

import boto3
import pytest
from markupsafe import escape

from bench.pipeline.floor import FLOOR_ARCHIVE_BUCKET, FLOOR_SITE_BUCKET, STEPS, measure_floor
from bench.pipeline.stories import make_stories
from tests.conftest import Servers

pytestmark = pytest.mark.integration


def bodies(count: int, seed: int, namespace: str) -> list[tuple[str, bytes]]:
    stories = make_stories(count, seed, namespace)
    for story in stories:
        story.pop("_words")
    return [(story["headline"], json.dumps(story).encode()) for story in stories]


def test_the_floor_archives_and_writes_every_story_with_links_from_the_archive(
    servers: Servers,
) -> None:
    archive = bodies(40, 11, "floor-archive")
    warm = bodies(2, 12, "floor-warm")
    stories = bodies(9, 13, "floor-stories")
    env = {
        "S3_ENDPOINT_URL": servers.s3_endpoint,
        "SITE_URL": f"{servers.s3_endpoint}/{FLOOR_SITE_BUCKET}",
        "INGEST_TOKEN": "floor-token",
    }

    result = measure_floor(
        env,
        {},
        [body for _, body in archive],
        [body for _, body in warm],
        [body for _, body in stories],
        workers=2,
    )

    assert result["stories"] == 9 and result["workers"] == 2
    assert result["s3_requests_per_story"] == 2.0
    assert sorted(w["index_stories"] for w in result["per_worker"]) == [40 + 1 + 4, 40 + 1 + 5]
    assert all(result["steps_cpu_ms_per_story"][step] > 0 for step in STEPS)
    assert result["stories_per_s"] > 0 and result["cpu_ms_per_story"]["workers"] > 0

    s3 = boto3.client(
        "s3",
        endpoint_url=servers.s3_endpoint,
        aws_access_key_id="wirepress",
        aws_secret_access_key="wirepress",
        region_name="us-east-1",
    )
    raw = s3.list_objects_v2(Bucket=FLOOR_ARCHIVE_BUCKET)["KeyCount"]
    assert raw == len(warm) + len(stories)
    pages = [
        item["Key"] for item in s3.list_objects_v2(Bucket=FLOOR_SITE_BUCKET).get("Contents", [])
    ]
    assert len(pages) == len(warm) + len(stories)
    html = [
        gzip.decompress(s3.get_object(Bucket=FLOOR_SITE_BUCKET, Key=key)["Body"].read()).decode()
        for key in pages
    ]
    for headline, _ in stories:
        own = f'<h1 class="story__headline">{escape(headline)}</h1>'
        assert sum(own in page for page in html) == 1
    # The synthetic archive shares its topics with the stories: links are picked from it.
    assert sum('class="related"' in page for page in html) >= len(stories) // 2
