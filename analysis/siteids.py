"""Which source and claim ids the site can use as folders as they are.

The site keeps a declared id as its folders (`versions/openai/privacy-policy/3.html`), so a bookmark reads
like the id. That is only safe for an id whose folders can never be another id's file: `v/1.md` would be
a folder where source `v` keeps its version 1's Markdown, `v.atom/x` one where `v`'s feed is a file. And a
part of an id is a file or folder name, which a file system bounds (255 bytes). The declarations refuse
such ids (`ingest.declarations`, `ingest.claims_declarations`); a record that holds one anyway (made by an
older policywatch) gets a hashed folder for it (`reports.urls.source_dir`), the same at every build.
"""

from __future__ import annotations

import re

# Bytes of one part of an id. A file name may have 255; the site adds a suffix (`.atom`) and, while a file is
# written, a temporary name around it (`.NAME.PID.tmp`).
MAX_PART_BYTES = 200
_PART = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
# What the site writes inside a source's folders: its version pages and Markdown, its page.
_FILE_IN_FOLDER = re.compile(r"^(\d+\.(html|md)|index\.html)$")
# What the site writes beside an id's folder under its own name: feeds, claim pages and their data.
_FILE_SUFFIXES = (".html", ".json", ".atom", ".rss", ".md", ".js", ".txt")


def folder_problem(identifier: str) -> str | None:
    """Why `identifier` cannot be the site's folders as it is, or None when it can."""
    parts = identifier.split("/")
    for position, part in enumerate(parts):
        if not _PART.match(part):
            return (f"part {part[:40]!r} is not lower-case letters, digits, '.', '_' and '-' "
                    "(starting with a letter or digit)")
        size = len(part.encode("utf-8"))
        if size > MAX_PART_BYTES:
            return (f"part {part[:40]!r}… is {size} bytes long, over the {MAX_PART_BYTES} a part may have "
                    "(each part is a file name in the report)")
        if position > 0 and _FILE_IN_FOLDER.match(part):
            return (f"part {part!r} is the name of a file the report writes in the folder of "
                    f"{'/'.join(parts[:position])!r}, so the two would collide")
        if position < len(parts) - 1 and part.endswith(_FILE_SUFFIXES):
            return (f"part {part!r} ends like a file the report writes ({part[part.rindex('.'):]}), so its "
                    "folder could collide with that file")
    return None
