"""The one JSON parser of the API: strict UTF-8, bounded size and depth, no NUL characters.

Every failure is a DRF ParseError (400 in the contract's envelope) or 413, never a 500.
"""

import json
from typing import Any

from django.conf import settings
from rest_framework import exceptions, parsers, status

from .validators import json_problem


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def check_json_value(value: Any, *, max_depth: int) -> None:
    """Too deep or any NUL character is refused (`saas.validators.json_problem`)."""
    problem = json_problem(value, max_depth=max_depth)
    if problem:
        raise exceptions.ParseError(problem)


class StrictJSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.SAAS_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.ParseError("The request body is not valid UTF-8.") from None
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except RecursionError:
            raise exceptions.ParseError("JSON nested too deeply.") from None
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error: {exc}") from None
        check_json_value(data, max_depth=settings.SAAS_MAX_JSON_DEPTH)
        return data
