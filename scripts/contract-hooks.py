"""Schemathesis hooks for scripts/contract: signs webhook deliveries, and
internal routes' requests with SigV4 (scripts/contract_sigv4.py).

The webhook's only caller proof is `X-Hub-Signature-256`, an HMAC of the raw
body, so no static credential can stand in for it. The run configures the
placeholder below as the `githubSignature` credential (so Schemathesis treats
it as explicit auth), and this hook swaps it for the real signature of the
body about to be sent. Schemathesis's `ignored_auth` probes remove the header
or put a wrong value in it: those are left alone and must be refused.

It also counts the requests sent per operation (Schemathesis's reports give
only totals) into $CONTRACT_COUNTS, for the RELIABILITY_OUT figures.
"""

import atexit
import collections
import hashlib
import hmac
import json
import os

import sys

import schemathesis
from schemathesis.core import NOT_SET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from contract_sigv4 import SigV4  # noqa: E402

PLACEHOLDER = "sign-this-body"
# The platformIam credential the run configures: replaced by a SigV4
# signature of the request as sent (broker-local checks IAM as API Gateway does).
IAM_PLACEHOLDER = "sign-this-request"


def raw_body(body) -> bytes:
    """The bytes requests will send: `json.dumps` as requests' `json=` does it."""
    if body is NOT_SET:
        return b""
    if isinstance(body, bytes):
        return body
    if body is None:
        return b"null"
    return json.dumps(body, allow_nan=False).encode("utf-8")


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    auth = next((k for k in headers if k.lower() == "authorization"), None)
    if auth is not None and headers[auth] == IAM_PLACEHOLDER:
        kwargs["auth"] = SigV4(os.environ["CONTRACT_IAM_KEY_ID"], os.environ["CONTRACT_IAM_SECRET"])
    name = next((k for k in headers if k.lower() == "x-hub-signature-256"), None)
    if name is None or headers[name] != PLACEHOLDER:
        return
    secret = os.environ["CONTRACT_WEBHOOK_SECRET"].encode("utf-8")
    headers[name] = "sha256=" + hmac.new(secret, raw_body(case.body), hashlib.sha256).hexdigest()


SENT = collections.Counter()
# Internal routes' answers under 300: proof that the placeholder was found
# and the SigV4 signature held (unsigned, every one would be a 403).
SIGNED_OK = collections.Counter()


@schemathesis.hook
def after_call(context, case, response):
    SENT[case.operation.label] += 1
    if case.operation.path.startswith("/internal/") and response.status_code < 300:
        SIGNED_OK[case.operation.label] += 1


@atexit.register
def write_counts():
    for variable, counts in (("CONTRACT_COUNTS", SENT), ("CONTRACT_SIGNED_OK", SIGNED_OK)):
        path = os.environ.get(variable)
        if path:
            with open(path, "w") as f:
                json.dump(counts, f)
