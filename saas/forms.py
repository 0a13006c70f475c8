"""Admin forms validated by the services: one validator, so the admin shows the API's messages."""

from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError

from saas.errors import ApplicationError


class ServiceCheckedForm(forms.ModelForm[Any]):
    """A ModelForm whose `clean()` runs the service's own checks (`service_check`) and shows what
    they raise on its fields: a typo is a form error with the API's message, never a 500.

    `service_fields` maps a service's error keys (its argument names) to form fields where the two
    differ; a key the form has no field for becomes a non-field error.
    """

    service_fields: ClassVar[dict[str, str]] = {}

    def service_check(self, data: dict[str, Any]) -> None:
        """Raises the service's ValidationError (or ApplicationError) for this input; writes nothing."""
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}  # ModelForm.clean() returns cleaned_data
        if self.errors:
            return data  # the service only sees well-formed input; the field errors come first
        try:
            self.service_check(data)
        except ValidationError as exc:
            self.add_service_error(exc)
        except ApplicationError as exc:
            self.add_error(None, exc.message)
        return data

    def add_service_error(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, errors in exc.error_dict.items():
            field = self.service_fields.get(key, key)
            self.add_error(field if field in self.fields else None, errors)
