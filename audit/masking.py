"""How secrets appear in audit diffs: never, not even partly (the diff still shows they changed)."""

MASK = "********"


def mask_secret(value: str) -> str:
    return MASK if value and value != "None" else value
