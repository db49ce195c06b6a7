"""Unsigned JWT-shaped tokens: the local identity endpoint issues them, the Azure ML stand-in reads them.

They carry the claims the real services check (audience, expiry), and nothing else of value.
"""

from __future__ import annotations

import base64
import json
import time
import uuid


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def make_token(audience: str, client_id: str, lifetime: int = 3600) -> tuple[str, int]:
    """A token for ``audience`` and its expiry (epoch seconds)."""
    now = int(time.time())
    expires = now + lifetime
    claims = {"aud": audience, "iss": "https://sts.windows.net/local-tenant/", "iat": now, "nbf": now,
              "exp": expires, "appid": client_id, "oid": client_id, "uti": uuid.uuid4().hex}
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.", expires


def read_token(token: str) -> dict | None:
    """The claims of a token from ``make_token``, or None for anything else."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None
