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
from registrum.errors import InvalidInput, RegistrumError, Unreachable


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


def report(error: BaseException) -> int | None:
    """Prints the one line for error and returns its exit code; None for a failure that
    is not ours to report (a broken pipe, or anything under REGISTRUM_DEBUG=1)."""
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
        output.error(error.message, error.code)
    elif isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        output.error(f"{where}{error.strerror or error}")
    else:
        output.error(str(error))
    return code
