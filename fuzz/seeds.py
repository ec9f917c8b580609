#!/usr/bin/env python3
"""Writes the committed seed corpora (fuzz/corpus/<target>/seed-*).

Rerun after changing a target's input layout or the webhook fixtures:
    python3 fuzz/seeds.py
"""

import base64
import json
import pathlib

FUZZ = pathlib.Path(__file__).resolve().parent
FIXTURES = FUZZ.parent / "tests" / "fixtures" / "webhooks"

# webhook_entry's layout: signature kind, event, delivery, flags, body.
# Kinds: 0 current secret, 8 previous secret, 12 somebody else's secret.
EVENTS = ["installation", "installation_repositories", "installation_target", "github_app_authorization", "ping"]


def write(target, name, data):
    path = FUZZ / "corpus" / target / f"seed-{name}"
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def webhook_seeds():
    for n, fixture in enumerate(sorted(FIXTURES.glob("*.json"))):
        event = fixture.name.split(".")[0]
        body = json.dumps(json.loads(fixture.read_text()), separators=(",", ":")).encode()
        delivery = n % 3
        write("webhook_entry", fixture.stem, bytes([0, EVENTS.index(event), delivery, 0]) + body)
    created = json.dumps(json.loads((FIXTURES / "installation.created.json").read_text())).encode()
    write("webhook_entry", "previous-secret", bytes([8, 0, 1, 1]) + created)
    write("webhook_entry", "forged", bytes([12, 0, 2, 0]) + created)
    write("webhook_entry", "not-json", bytes([0, 0, 0, 0]) + b'{"action":"created","installation":')


def claims_seeds():
    for name, text in {
        "api-gateway": "user-1\0[team-a team-b]",
        "json": 'user-1\0["team-a","team-b"]',
        "comma": "user-1\0team-a, team-b\0accounts\0email=a@example.com",
        "custom-claim": "u\0[right]\0custom:teams\0accounts=[wrong]",
        "entries": "u\0team-a\x01 team-b\x01../x",
        "no-sub": "\0[team-a]",
    }.items():
        write("claims", name, text)


def event(method, path, headers=None, body=None, auth=None, b64=False):
    context = {
        "accountId": "123456789012",
        "apiId": "a1b2c3d4e5",
        "domainName": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
        "domainPrefix": "a1b2c3d4e5",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7",
                 "userAgent": "fuzz"},
        "requestId": "JKJaXmPLvHcESHA=",
        "routeKey": "$default",
        "stage": "$default",
        "time": "24/Nov/2026:15:00:00 +0000",
        "timeEpoch": 1795100400000,
    }
    if auth == "iam":
        context["authorizer"] = {"iam": {"accessKey": "ASIAEXAMPLEKEY", "accountId": "123456789012",
                                         "callerId": "AROAEXAMPLE:backend", "cognitoIdentity": None,
                                         "principalOrgId": None,
                                         "userArn": "arn:aws:sts::123456789012:assumed-role/backend/s",
                                         "userId": "AROAEXAMPLE:backend"}}
    elif auth is not None:
        context["authorizer"] = {"jwt": {"claims": auth, "scopes": None}}
    out = {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
           "headers": headers or {}, "requestContext": context, "isBase64Encoded": b64}
    if body is not None:
        out["body"] = base64.b64encode(body.encode()).decode() if b64 else body
    return json.dumps(out, indent=1)


def lambda_seeds():
    jwt = {"sub": "user-1", "accounts": "[team-a team-b]"}
    for name, text in {
        "get-user": event("GET", "/github/user", auth=jwt),
        "link": event("PUT", "/accounts/team-a/installations/42", auth=jwt),
        "oauth-start": event("POST", "/github/oauth/start", {"content-type": "application/json"},
                             '{"account_id":"team-a","install":true}', jwt),
        "internal-token": event("POST", "/internal/accounts/team-a/installations/42/token", {},
                                '{"repositories":["a"],"min_ttl_seconds":600}', "iam"),
        "internal-no-iam": event("POST", "/internal/users/user-1/token", {}, "{}", jwt),
        "preflight": event("OPTIONS", "/github/user", {"origin": "https://app.example.com"}),
        "webhook-base64": event("POST", "/", {"x-github-event": "ping", "x-hub-signature-256": "sha256=00"},
                                '{"zen":"x"}', b64=True),
        # lambda_http, which the functions once used, panicked on this query.
        "query-quote": event("POST", "/", {"x-github-event": "ping"}, "{}").replace(
            '"rawQueryString": ""', '"rawQueryString": "a=\\"x\\""'),
    }.items():
        write("lambda_event", name, text)


if __name__ == "__main__":
    webhook_seeds()
    claims_seeds()
    lambda_seeds()
