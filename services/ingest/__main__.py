"""`python -m services.ingest`: run the ingest service."""

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from shared.runner import serve

if __name__ == "__main__":
    settings = IngestSettings()
    serve("ingest", create_app, settings, host=settings.ingest_host, port=settings.ingest_port)
