"""HTTP API: app factory, routers per area, auth dependencies, error mapping."""

from ._app import app_from_environment, create_app
from ._http import HTTP_PROTOCOL
from ._logging import configure_logging

__all__ = ["HTTP_PROTOCOL", "app_from_environment", "configure_logging", "create_app"]
