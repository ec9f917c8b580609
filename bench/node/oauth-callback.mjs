// OAuth start and callback: a single-use state with a PKCE verifier in
// DynamoDB; the code exchanged with the verifier; the user's tokens sealed.
import crypto from "node:crypto";
import { PutCommand, DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { ddb, TABLE, WEB, github, secret, seal, open, json, error, body, caller } from "./lib/common.mjs";

const b64url = (buf) => buf.toString("base64url");

async function start(user, req) {
  const { value } = await secret();
  const state = b64url(crypto.randomBytes(32));
  const verifier = b64url(crypto.randomBytes(32));
  const challenge = b64url(crypto.createHash("sha256").update(verifier).digest());
  if (req.account_id && !user.accounts.includes(req.account_id)) return error(403, "not_a_member", "not in that account");
  await ddb.send(
    new PutCommand({
      TableName: TABLE,
      Item: {
        pk: `state#${state}`,
        sk: "state",
        sub: user.sub,
        account: req.account_id,
        verifier: await seal(verifier, `state#${state}`),
        expire_at: Math.floor(Date.now() / 1000) + 600,
      },
    }),
  );
  const url = new URL(`${WEB}/login/oauth/authorize`);
  url.search = new URLSearchParams({
    client_id: value.client_id,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  return json(200, { authorize_url: url.toString(), state });
}

async function callback(user, req) {
  const { value } = await secret();
  const { Attributes: s } = await ddb.send(
    new DeleteCommand({ TableName: TABLE, Key: { pk: `state#${req.state}`, sk: "state" }, ReturnValues: "ALL_OLD" }),
  );
  if (!s || s.sub !== user.sub || s.expire_at < Date.now() / 1000) return error(400, "invalid_state", "unknown state");
  const verifier = await open(s.verifier, `state#${req.state}`);
  const { data: tokens } = await github("POST /login/oauth/access_token", {
    baseUrl: WEB,
    headers: { accept: "application/json" },
    client_id: value.client_id,
    client_secret: value.client_secret,
    code: req.code,
    code_verifier: verifier,
  });
  if (tokens.error) return error(400, "oauth_code_rejected", tokens.error);
  const { data: me } = await github("GET /user", { headers: { authorization: `bearer ${tokens.access_token}` } });
  const now = Math.floor(Date.now() / 1000);
  const pk = `user#${user.sub}`;
  await ddb.send(
    new PutCommand({
      TableName: TABLE,
      Item: {
        pk,
        sk: "conn",
        gsi1pk: `ghuser#${me.id}`,
        gsi1sk: pk,
        github_id: me.id,
        login: me.login,
        access: await seal(tokens.access_token, pk),
        access_exp: now + tokens.expires_in,
        refresh: await seal(tokens.refresh_token, pk),
        refresh_exp: now + tokens.refresh_token_expires_in,
      },
    }),
  );
  return json(200, { github_user: { id: me.id, login: me.login } });
}

export async function handler(event) {
  const user = caller(event);
  if (!user) return error(401, "unauthenticated", "no caller");
  const path = event.rawPath;
  if (path === "/github/oauth/start") return start(user, body(event));
  if (path === "/github/oauth/callback") return callback(user, body(event));
  return error(404, "not_found", "no such route");
}
