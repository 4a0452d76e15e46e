"""`python -m services.desk`: run the editors' desk."""

from services.desk.app import create_app
from services.desk.settings import DeskSettings
from shared.runner import serve

if __name__ == "__main__":
    settings = DeskSettings()
    serve("desk", create_app, settings, host=settings.desk_host, port=settings.desk_port)
