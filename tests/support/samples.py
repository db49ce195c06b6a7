"""Sample inputs shared by tests and the worker check."""

from __future__ import annotations

SAMPLE_CSV = b"MYCT,MMIN,MMAX,CACH,CHMIN,CHMAX,PRP\n125,256,6000,256,16,128,198\n29,8000,32000,32,8,32,269\n"
