"""Serializer fields that take exactly the JSON type the schema names.

DRF's fields coerce: `"name": 0` becomes "0", `"active": 0` becomes False, `"spend": 12`
becomes Decimal("12"). A client generated from the schema never sends those, and a client
that does has a bug it should hear about, so the API answers 400 instead of guessing.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A string, at most `max_length` as sent (spaces around it are trimmed after the check, as the schema says)."""

    default_error_messages = {"invalid": _("Must be a string.")}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField, StrictCharField):
    pass


class StrictURLField(serializers.URLField, StrictCharField):
    pass


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": _("Must be true or false.")}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictDecimalField(serializers.DecimalField):
    """Decimals travel as strings both ways ("1200.50"), so no precision is lost in a float."""

    default_error_messages = {"invalid": _('Must be a decimal number written as a string, e.g. "1200.50".')}

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data == "":  # DRF would read "" as null; only null is null
            self.fail("invalid")
        return super().validate_empty_values(data)

    def to_internal_value(self, data: Any):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# What Django's URLValidator takes for http(s), written so that a generated client sends only such URLs.
URL_PATTERN = (
    r"^https?://([a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\.){1,3}[a-z]{2,12}(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~-]*)*$"
)


class StrictTypes:
    """For a ModelSerializer: model fields map to the strict fields above."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
        models.URLField: StrictURLField,
        models.BooleanField: StrictBooleanField,
        models.DecimalField: StrictDecimalField,
    }


class StrictCharFieldSchema(OpenApiSerializerFieldExtension):
    """A required-not-blank string says so: at least one character that is not a space."""

    target_class = StrictCharField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction) -> dict:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        for validator in self.target.validators:
            if isinstance(validator, RegexValidator) and not validator.inverse_match:
                schema["pattern"] = getattr(validator.regex, "pattern", validator.regex)
        if not self.target.allow_blank and schema.get("type") == "string":
            schema["minLength"] = max(schema.get("minLength", 0), 1)
            schema.setdefault("pattern", r"\S")
        return schema


class StrictURLFieldSchema(OpenApiSerializerFieldExtension):
    """Receivers are reached over HTTP(S) at a host name or an address."""

    target_class = StrictURLField
    priority = 1  # before StrictCharFieldSchema, which matches it as a subclass

    def map_serializer_field(self, auto_schema, direction) -> dict:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        schema["pattern"] = URL_PATTERN
        schema["minLength"] = 1
        return schema


class StrictDecimalFieldSchema(OpenApiSerializerFieldExtension):
    """The decimal pattern as DRF reads it: digits, then at most `decimal_places` more; no sign when min is 0."""

    target_class = StrictDecimalField

    def map_serializer_field(self, auto_schema, direction) -> dict:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        field = self.target
        whole = (field.max_digits or 20) - (field.decimal_places or 0)
        sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
        fraction = rf"(?:\.[0-9]{{1,{field.decimal_places}}})?" if field.decimal_places else ""
        schema["pattern"] = rf"^{sign}[0-9]{{1,{whole}}}{fraction}$"
        return schema
