"""SigV4 for scripts/contract: signs a request to an internal route as the
platform's backend would (service execute-api), for broker-local's IAM check.

A `requests` auth around botocore's own signer (AWS's, pinned in
scripts/contract): it signs the prepared request as sent (its final URL and
body bytes), with host and x-amz-date as the signed headers.
"""

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-east-1"
SERVICE = "execute-api"


class SigV4(requests.auth.AuthBase):
    def __init__(self, key_id: str, secret: str):
        self.signer = SigV4Auth(Credentials(key_id, secret), SERVICE, REGION)

    def __call__(self, r):
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        signed = AWSRequest(method=r.method, url=r.url, data=body)
        self.signer.add_auth(signed)
        for name in ("X-Amz-Date", "Authorization"):
            r.headers[name] = signed.headers[name]
        return r
