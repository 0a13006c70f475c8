"""How secrets appear in audit diffs: never, not even partly (the diff still shows they changed)."""

MASK = "********"


def mask_secret(value: str) -> str | None:
    if value == "None":  # auditlog hands over str(None) for an empty field
        return None
    return MASK if value else value
