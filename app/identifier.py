"""Per-process identifier, so users can watch load spread across replicas."""

from __future__ import annotations

import re
import secrets
import string

ALPHABET = string.ascii_letters + string.digits
GROUPS = 4
GROUP_LENGTH = 8
IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z0-9]{8}(-[A-Za-z0-9]{8}){3}$")
# An operator-chosen identifier only has to be safe to embed verbatim in JSON.
OVERRIDE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"


def make_identifier() -> str:
    """Four groups of eight characters from a CSPRNG, joined by '-'."""
    return "-".join(
        "".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS)
    )
