"""`python -m services.render`: run the render service."""

from services.render.app import create_app
from services.render.settings import RenderSettings
from shared.runner import serve

if __name__ == "__main__":
    serve("render", create_app, RenderSettings())
