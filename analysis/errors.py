"""The one kind of error a user can fix: every layer's such errors derive from it.

A declaration, a rule or claims file, a setting, a manifest, a database
address, an id typed on the command line: when one of these is wrong, the
command line says so in one line and exits with status 2, without a
traceback. The class lives in the lowest layer so that every layer can
derive from it.
"""

from __future__ import annotations


class UserInputError(ValueError):
    """Something the user can fix; the message names where it is (a file, a line, a field, an id)."""


def as_written(text: str) -> str:
    """A user's pattern or value quoted as a YAML file holds it between single quotes (``'\\bkeep\\b'``), not as
    Python's repr, which doubles every backslash of a regular expression. Control characters, which a single-quoted
    YAML string cannot hold, are shown escaped."""
    shown = "".join(c if c >= " " and c != "\x7f" else f"\\x{ord(c):02x}" for c in text)
    return "'" + shown.replace("'", "''") + "'"
