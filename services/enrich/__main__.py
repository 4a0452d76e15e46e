"""`python -m services.enrich`: run the enrich service."""

from services.enrich.app import create_app
from services.enrich.settings import EnrichSettings
from shared.runner import serve

if __name__ == "__main__":
    serve("enrich", create_app, EnrichSettings())
