"""Where a browser may be sent after signing in: only a path on the same host.

Pure and Django-free, so it can be property-tested. Anything that a browser could read as another
host or scheme (`//evil.test`, `/\\evil.test`, `https:evil.test`, `javascript:...`, control
characters that browsers strip) is refused and replaced by the default.
"""

import re
from urllib.parse import unquote, urlsplit

_MAX_LENGTH = 2000
# Browsers drop tabs and newlines anywhere in a URL and trim leading/trailing C0 controls and spaces.
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def is_safe_next(value: object) -> bool:
    """True when `value` is a same-host path: starts with one "/", never names a scheme or host."""
    if not isinstance(value, str) or not value or len(value) > _MAX_LENGTH:
        return False
    if _CONTROL.search(value) or "\\" in value:
        return False
    if not value.startswith("/") or value.startswith("//"):
        return False
    decoded = unquote(value)
    if decoded.startswith(("//", "/\\")) or _CONTROL.search(decoded):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc


def safe_next(value: object, default: str = "/") -> str:
    """`value` when it is a safe same-host path, else `default`."""
    return value if is_safe_next(value) else default  # type: ignore[return-value]
