"""Domain errors with stable codes. Messages never contain a phone number or a secret."""

from __future__ import annotations

__all__ = [
    "AuditWriteFailed",
    "ConfigurationError",
    "Conflict",
    "DialvaultError",
    "Forbidden",
    "InvalidInput",
    "InvalidPhoneNumber",
    "NotFound",
    "ServiceUnavailable",
    "Unauthenticated",
]


class DialvaultError(Exception):
    """Base error: `code` is stable snake_case, `status` the HTTP status it maps to."""

    code = "internal_error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class InvalidInput(DialvaultError):
    code = "invalid_request"
    status = 422


class InvalidPhoneNumber(InvalidInput):
    code = "invalid_phone_number"

    def __init__(self, field: str = "phone") -> None:
        super().__init__("the phone number is not a valid number", field=field)


class NotFound(DialvaultError):
    code = "not_found"
    status = 404


class Conflict(DialvaultError):
    code = "conflict"
    status = 409


class Unauthenticated(DialvaultError):
    code = "unauthenticated"
    status = 401


class Forbidden(DialvaultError):
    code = "forbidden"
    status = 403


class ServiceUnavailable(DialvaultError):
    code = "service_unavailable"
    status = 503


class AuditWriteFailed(ServiceUnavailable):
    code = "audit_write_failed"

    def __init__(self) -> None:
        super().__init__("the audit ledger could not be written; the action was not performed")


class ConfigurationError(DialvaultError):
    code = "configuration_error"
    status = 500
