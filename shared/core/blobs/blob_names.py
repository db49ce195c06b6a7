"""Blob names as they enter the app (HTTP bodies, events, records, the rules file, the CLI): a path inside the
watched container, or refused before any I/O.

Why each rule: HTTP clients and servers remove dot segments (urllib3 turns ``<container>/../other/x.csv`` into
``other/x.csv``, another container) and some read a backslash as a slash; a name that NFKC normalisation (or a
layer that percent-decodes it) would turn into another path is the same escape, one step later. Azure's own limits
(Naming and Referencing Containers, Blobs, and Metadata): 1 to 1,024 characters, at most 254 path segments, no
control characters; names ending with a dot or a slash are to be avoided.
"""

from __future__ import annotations

import re
import unicodedata

from shared.core.common.errors import InvalidValue

MAX_NAME_LENGTH = 1024
MAX_SEGMENTS = 254
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_PATH_CHARACTERS = "/.%"


class BlobNameError(InvalidValue, ValueError):
    """A blob name that must not be used; the message names the problem."""


def checked_blob_name(name: object, what: str = "blob", *, supplied: bool = True) -> str:
    """``name`` unchanged when it is a safe path inside a container; BlobNameError saying why not otherwise.
    ``supplied`` as for ``blob_name_problem``."""
    if not isinstance(name, str) or not name.strip():
        raise BlobNameError(f"{what} must be a path inside the watched container, such as incoming/data.csv")
    problem = blob_name_problem(name, supplied=supplied)
    if problem:
        shown = repr(name if len(name) <= 80 else name[:77] + "...")
        raise BlobNameError(f"{what} {shown} {problem}")
    return name


def blob_name_problem(name: object, *, supplied: bool = True) -> str | None:
    """What makes ``name`` unsafe as a path inside the watched container, or None.

    ``supplied``: the name comes from a person, an event or a file, not from the host naming a blob that exists.
    Then forms that only a later decoding or normalising layer would turn into another path are refused too (they
    cannot be told from an encoding trick); a blob that exists with such a name is still processed when the host
    hands it over, since the storage SDK sends it as it is (``%`` as ``%25``) and it can only be itself.
    """
    if not isinstance(name, str) or not name.strip():
        return "must be a path inside the watched container, such as incoming/data.csv"
    if len(name) > MAX_NAME_LENGTH:
        return f"is {len(name):,} characters long; Azure allows at most {MAX_NAME_LENGTH:,}"
    problem = _path_problem(name)
    if problem or not supplied:
        return problem
    if _PERCENT_ESCAPE.search(name):
        return "contains a percent-escape (%XX): a layer that decodes it would read another path"
    if name.endswith("."):
        return "ends with '.' (Azure advises against it: some layers drop trailing dots)"
    normalized = unicodedata.normalize("NFKC", name)
    if normalized != name and _path_problem(normalized):
        return f"normalises (Unicode NFKC) to {normalized!r}, which {_path_problem(normalized)}"
    if any(normalized.count(char) != name.count(char) for char in _PATH_CHARACTERS):
        return (f"normalises (Unicode NFKC) to {normalized!r}: characters that read as '/', '.' or '%' "
                "would name another path")
    return None


def _path_problem(name: str) -> str | None:
    for char in name:
        if unicodedata.category(char) in ("Cc", "Cs", "Co") or _is_noncharacter(char):
            return f"contains the character U+{ord(char):04X} (control, surrogate or not a character)"
    if "\\" in name:
        return "contains a backslash (some clients read it as '/')"
    if name.startswith("/"):
        return "starts with '/': give the path inside the container, such as incoming/data.csv"
    segments = name.split("/")
    if len(segments) > MAX_SEGMENTS:
        return f"has {len(segments)} path segments; Azure allows at most {MAX_SEGMENTS}"
    if "" in segments:
        return "has an empty path segment ('//', or a trailing '/')"
    if any(set(segment) == {"."} for segment in segments):
        return "has a '.' or '..' segment: it would leave the path it names"
    return None


def _is_noncharacter(char: str) -> bool:
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE
