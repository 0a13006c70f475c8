"""Checks of input shapes shared by several apps: pure functions, no Django."""

import re
from typing import Any

# A lower-case DNS host name of two or more labels whose last label starts with a letter (so not an
# IP address): tenants' custom domains and SSO providers' allowed email domains.
HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


def is_hostname(value: str) -> bool:
    return bool(HOSTNAME_RE.match(value))


def json_problem(value: Any, *, max_depth: int) -> str | None:
    """Why a parsed JSON document may not be stored, or None: objects and arrays nested deeper than
    `max_depth` levels, or a NUL character in any key or string (PostgreSQL's jsonb cannot store
    \\u0000). Walks without recursion, so any depth is safe to check."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return "JSON must not contain NUL characters."
            continue
        if isinstance(node, dict):
            if any("\x00" in key for key in node):
                return "JSON must not contain NUL characters."
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > max_depth:
            return f"JSON nested deeper than {max_depth} levels."
        stack.extend((child, depth + 1) for child in children)
    return None
