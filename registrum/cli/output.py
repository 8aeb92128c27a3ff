"""How the CLI prints: tables and lines for people, JSON for scripts, one line for errors.

Whatever came from the server is printed inert: rich markup in stored text is shown as
typed, never interpreted, and control characters (ANSI escapes, carriage returns, bidi
overrides) are shown escaped instead of reaching the terminal.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.text import Text

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

# Control, format (bidi overrides, zero-width), surrogate and line/paragraph separators.
_UNSAFE = ("Cc", "Cf", "Cs", "Zl", "Zp")


def escape_controls(text: str) -> str:
    """text with every control or invisible formatting character escaped (\\x1b, \\n...)."""
    if text.isprintable():
        return text
    return "".join(
        ch.encode("unicode_escape", "backslashreplace").decode("ascii")
        if unicodedata.category(ch) in _UNSAFE
        else ch
        for ch in text
    )


def inert(value: Any, style: str = "") -> Text:
    """A value from the server as text that is shown, never interpreted; "-" for nothing."""
    if value is None or value == "" or value == [] or value == {}:
        return Text("-", style=style)
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return Text(escape_controls(str(value)), style=style)


def say(*parts: str | Text) -> None:
    """One line on stdout from our own words (str, never parsed as markup) and inert values."""
    console.print(Text.assemble(*parts), soft_wrap=True)


def note(*parts: str | Text) -> None:
    """One line on stderr that is not an error: more rows exist, a hint."""
    errors.print(Text.assemble(*parts))


def error(message: str, code: str | None = None) -> None:
    """The one line a failed command ends with, on stderr."""
    head = Text("error", style="red") + Text(f" ({code})" if code else "")
    errors.print(head + Text(": ") + inert(message))


def emit_json(data: Any) -> None:
    """JSON for scripts; ensure_ascii escapes every control character."""
    print(json.dumps(data, indent=2, sort_keys=True))


@contextmanager
def progress(total: int, label: str, quiet: bool = False) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; yields the callback that advances it by n bytes."""
    if quiet:
        yield lambda n: None
        return
    bar = Progress(
        "{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=errors,
        transient=True,
    )
    with bar:
        task = bar.add_task(escape(escape_controls(label)), total=total)
        yield lambda n: bar.advance(task, n)
