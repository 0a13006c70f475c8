from typing import Any

from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Every API route answers with and without its trailing slash, without redirects."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trailing_slash = "/?"
