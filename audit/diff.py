"""The row diff of a created row, computed as django-auditlog computes it, in a fifth of the time.

auditlog's `model_instance_diff(None, new)` reads every field of the missing old instance through
`get_field_value(None, ...)`, which raises and catches an AttributeError per field to return None,
and rebuilds the model's field list on every call; that was most of an audited create's Python
(`tests/bench/audit_write.py`). For a create the old value of every field is None, so the diff is
`{name: (None, new value)}` for the tracked fields whose new value is not None, masked as auditlog
masks them. Everything else (updates, deletes, `use_json_for_changes` off) is auditlog's own.
`AuditConfig.ready()` makes it the diff auditlog's receivers call; the equivalence is tested
field by field against auditlog's (`tests/audit/test_row_changes.py`).
"""

from functools import lru_cache
from typing import Any

import auditlog.diff as auditlog_diff
from auditlog.registry import auditlog
from django.db.models import Model

auditlog_model_instance_diff = auditlog_diff.model_instance_diff


@lru_cache(maxsize=256)
def _created_fields(
    model: type[Model], include: tuple[str, ...], exclude: tuple[str, ...]
) -> tuple[Any, ...]:
    """The fields auditlog diffs for `model`, filtered as `model_instance_diff` filters them."""
    fields = [f for f in model._meta.get_fields() if auditlog_diff.track_field(f)]
    if include:
        fields = [f for f in fields if f.name in include]
    if exclude:
        fields = [f for f in fields if f.name not in exclude]
    return tuple(fields)


def model_instance_diff(
    old: Model | None, new: Model | None, fields_to_check: Any = None, use_json_for_changes: bool = False
) -> dict[str, tuple[Any, Any]] | None:
    if old is not None or new is None or fields_to_check or not use_json_for_changes:
        diff: dict[str, tuple[Any, Any]] | None = auditlog_model_instance_diff(
            old, new, fields_to_check=fields_to_check, use_json_for_changes=use_json_for_changes
        )
        return diff
    if not isinstance(new, Model):
        raise TypeError("The supplied new instance is not a valid model instance.")
    options = auditlog.get_model_fields(new._meta.model)
    fields = _created_fields(
        new._meta.model, tuple(options["include_fields"]), tuple(options["exclude_fields"])
    )
    masked, mask = options["mask_fields"], None
    get_value, primitive, smart_str = (
        auditlog_diff.get_field_value,
        auditlog_diff.is_primitive,
        auditlog_diff.smart_str,
    )
    changes: dict[str, tuple[Any, Any]] = {}
    for field in fields:
        value = get_value(new, field, True)
        if value is None:  # the old value, None, equals it: auditlog leaves the field out
            continue
        if field.name in masked:
            mask = mask or auditlog_diff.get_mask_function(options.get("mask_callable"))
            changes[field.name] = (mask(smart_str(None)), mask(smart_str(value)))
        else:
            changes[field.name] = (None, value if primitive(value) else smart_str(value))
    return changes or None
