"""The four Wirepress services: ingest, enrich, render, publish."""
