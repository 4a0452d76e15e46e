"""`python -m services.publish`: run the publish service."""

from services.publish.app import create_app
from services.publish.settings import PublishSettings
from shared.runner import serve

if __name__ == "__main__":
    serve("publish", create_app, PublishSettings())
