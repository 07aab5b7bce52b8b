"""OpenAPI post-processing: every operation documents the errors the API can answer with."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_SCHEMA = {
    "type": "object",
    "description": "`detail` says what went wrong; `errors` maps each field to what to fix.",
    "properties": {
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
    },
}

COMMON_ERRORS = {
    "400": "Bad input: malformed JSON or invalid fields, explained in `errors` or `detail`.",
    "401": "No credentials, or an unknown, revoked or expired API key.",
    "403": "The API key lacks the scope, or the user's role or departments do not allow it.",
    "404": "No such object.",
    "429": "Too many requests for this key; wait for the seconds in the Retry-After header.",
    "503": "The database is briefly unavailable; nothing was stored. Retry after the Retry-After seconds.",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}}
RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": {"schema": {"type": "integer"}, "description": "Requests this key may make per window."},
    "RateLimit-Remaining": {"schema": {"type": "integer"}, "description": "Requests left in the current window."},
    "RateLimit-Reset": {"schema": {"type": "integer"}, "description": "Seconds until the window frees a request."},
}
WRITE_ERRORS = {
    "413": "More than 1,000 experiences or a body over 1 MB.",
    "415": "The body must be application/json.",
}


# Request bodies whose unknown fields are refused (not ignored), as the schema then says.
CLOSED_OBJECTS = ("IngestRequest", "ExperienceItem", "CustomerRef")


def add_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular hook: add the shared Error schema and the error responses to every operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for name in CLOSED_OBJECTS:
        if name in schemas:
            schemas[name]["additionalProperties"] = False
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            errors = COMMON_ERRORS | (WRITE_ERRORS if method in ("post", "put", "patch") else {})
            if any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", [])):
                errors = errors | {"422": "The Idempotency-Key was already used for a different request."}
            for code, description in errors.items():
                operation["responses"].setdefault(code, {"description": description, "content": error})
            for code, response in operation["responses"].items():
                if code.startswith("4") and "content" not in response:  # an operation's own 4xx (e.g. 409)
                    response["content"] = error
                if code in ("429", "503"):
                    response["headers"] = dict(RETRY_AFTER)
                if code.startswith("2") or code == "429":
                    response["headers"] = response.get("headers", {}) | RATE_LIMIT_HEADERS
    return result


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents `Authorization: Api-Key <key>` so that Swagger UI can send it."""

    target_class = "integrations.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; create keys with `manage.py create_api_key` or in the admin.",
        }
