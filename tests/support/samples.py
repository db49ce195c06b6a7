"""Sample inputs shared by tests and the worker check."""

from __future__ import annotations

import base64

SAMPLE_CSV = b"MYCT,MMIN,MMAX,CACH,CHMIN,CHMAX,PRP\n125,256,6000,256,16,128,198\n29,8000,32000,32,8,32,269\n"


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


# Made-up secrets for the masking tests, built at run time so no key- or token-shaped literal sits in the source.
ECHOED_ACCOUNT_KEY = "AccountKey=" + base64.b64encode(b"secret key echoed back by the service").decode("ascii")
"""A connection-string secret Azure ML might echo back in an error message."""
FAKE_JWT = ".".join(_base64url(part) for part in (b'{"alg":"RS256"}', b'{"sub":"app-identity"}',
                                                  b"signatureSecretPart"))
