"""One settings object that is every service's and the tools' at once, for tests that run the
whole stack against one Redis and one S3 (each service reads only its own fields of it)."""

from __future__ import annotations

from cli.settings import ToolSettings
from services.enrich.settings import EnrichSettings
from services.ingest.settings import IngestSettings
from services.publish.settings import PublishSettings
from services.render.settings import RenderSettings


class StackSettings(IngestSettings, EnrichSettings, RenderSettings, PublishSettings, ToolSettings):
    pass
