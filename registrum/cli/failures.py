"""The one place where a failure becomes a line on stderr and an exit code.

Exit codes: 0 done; 1 refused or not found (the registry's typed error), or a check or
local file that failed while carrying the command out; 2 usage (the command line cannot be
carried out as given: a bad value, an unknown stage, an input file missing or unreadable);
3 unreachable (connection refused, DNS, timeout, a proxy answering in the registry's
place). 130 after Ctrl-C.
"""

from __future__ import annotations

import errno
import os
from enum import IntEnum

from registrum.cli import output
from registrum.errors import Forbidden, InvalidInput, RegistrumError, Unauthenticated, Unreachable


class ExitCode(IntEnum):
    OK = 0
    REFUSED = 1
    USAGE = 2
    UNREACHABLE = 3


class Usage(Exception):
    """The command line cannot be carried out as given (exit 2), found before any call."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


DEBUG_VARIABLE = "REGISTRUM_DEBUG"


def exit_code(error: BaseException) -> ExitCode | None:
    """The exit code for a failure we know, or None."""
    if isinstance(error, Unreachable):
        return ExitCode.UNREACHABLE
    if isinstance(error, Usage | InvalidInput):
        return ExitCode.USAGE
    if isinstance(error, RegistrumError):
        return ExitCode.REFUSED
    if isinstance(error, OSError) and error.errno != errno.EPIPE:
        return ExitCode.REFUSED  # a local file or terminal problem not caught nearer
    return None


def explained(error: RegistrumError, source: str | None = None) -> str:
    """The registry's message, with what to do about a credential it refused (source:
    where the token came from, None when none was sent) or a grant that is missing."""
    if isinstance(error, Unauthenticated):
        if source is None:
            return (
                f"{error.message}; no token was sent: run `registrum login` or set REGISTRUM_TOKEN"
            )
        return (
            f"{error.message}; the token came from {source}: "
            "run `registrum login` with a valid one, or set REGISTRUM_TOKEN"
        )
    if isinstance(error, Forbidden):
        details = error.details if isinstance(error.details, dict) else {}
        permission, on = details.get("permission"), details.get("on")
        needed = ""
        if permission and str(permission) not in error.message:
            needed = f" (needs {permission} on {on or 'the registry'})"
        return f"{error.message}{needed}; `registrum whoami` shows your grants"
    return error.message


def report(error: BaseException, source: str | None = None) -> int | None:
    """Prints the one line for error and returns its exit code; None for a failure that
    is not ours to report (a broken pipe, or anything under REGISTRUM_DEBUG=1). source:
    where the command's token came from, for the hint after a 401."""
    code = exit_code(error)
    if code is None:
        if os.environ.get(DEBUG_VARIABLE) or isinstance(error, OSError):
            return None
        output.error(
            f"{type(error).__name__}: {error} (a bug in registrum; {DEBUG_VARIABLE}=1 shows where)",
            "internal",
        )
        return ExitCode.REFUSED
    if isinstance(error, RegistrumError):
        output.error(explained(error, source), error.code)
    elif isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        output.error(f"{where}{error.strerror or error}")
    else:
        output.error(str(error))
    return code
