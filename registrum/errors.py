"""What the SDK raises: one base class, one subclass per way a call can fail.

Catch `RegistrumError` for all of them. `status` is the HTTP status of the registry's
answer, or 0 when the call failed before one (unreachable, bad input, a local file).
"""

from __future__ import annotations

from typing import Any


class RegistrumError(Exception):
    """The registry refused a request with its typed error (`code`, `message`,
    `details`), or the call could not be made (status 0)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details


class Unreachable(RegistrumError):
    """The registry could not be reached: connection refused, DNS, timeout, a connection
    dropped mid-reply, or a proxy answering 502/503/504 in its place. Worth a retry."""

    def __init__(self, message: str, code: str = "unreachable", status: int = 0) -> None:
        super().__init__(status, code, message)


class BadReply(RegistrumError):
    """Something answered, but not as a registry does: not JSON (an HTML error page, a
    login portal), or JSON without the expected fields."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, "bad_reply", message)


class Unauthenticated(RegistrumError):
    """The registry did not accept the credential (HTTP 401): none was sent, or it is
    malformed, unknown, revoked or expired; `details["reason"]` says which."""

    @property
    def reason(self) -> str | None:
        reason = self.details.get("reason") if isinstance(self.details, dict) else None
        return reason if isinstance(reason, str) else None


class Forbidden(RegistrumError):
    """The caller is known but its grants lack a permission (HTTP 403 `forbidden`);
    `details` name the `permission`, where it was needed (`on`) and the `subject`."""


class InvalidInput(RegistrumError):
    """Refused by the SDK before sending: the request could not be made from these
    arguments (a URL too long, a models:/ URI that is not one)."""

    def __init__(self, message: str, code: str = "invalid_input") -> None:
        super().__init__(0, code, message)


class FileError(RegistrumError):
    """A local file problem: missing, unreadable, a folder with no files, a file path
    that would land outside the destination, a destination that cannot be written."""

    def __init__(self, message: str, code: str = "file_error") -> None:
        super().__init__(0, code, message)


class CredentialsError(InvalidInput):
    """A credentials file (or the local administrator's token file) that is not used: a
    symbolic link stands at its path, others may read it, it is not a credentials file,
    or it has no profile of the name asked for. Nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "credentials")


class DigestMismatch(FileError):
    """Downloaded bytes that do not hash to the digest the registry recorded."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "digest_mismatch")


class KafkaSecurityError(RegistrumError):
    """Kafka security that cannot work: a setting (KafkaSettingsError) or a handshake that
    failed (KafkaHandshakeError). Retrying does not help; the configuration must change."""


class KafkaSettingsError(InvalidInput, KafkaSecurityError):
    """A REGISTRUM_KAFKA_* security setting that is missing, unknown, contradicts another
    or names a file that cannot be used; the message names the variable. Found before any
    connection is made."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "kafka_settings")


class KafkaHandshakeError(KafkaSecurityError):
    """A broker answered but the secured handshake failed: its certificate is not trusted,
    TLS could not be agreed, or the SASL mechanism or credentials were refused."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "kafka_handshake", message)
