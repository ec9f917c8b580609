// Installations, links and tokens. Installation tokens come from
// @octokit/auth-app, whose in-memory cache (per container) reuses a token
// of the same installation, repositories and permissions.
import { createAppAuth } from "@octokit/auth-app";
import { refreshToken } from "@octokit/oauth-methods";
import { GetCommand, PutCommand, QueryCommand, BatchGetCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { ddb, TABLE, API, WEB, github, secret, seal, open, json, error, body, caller, isIam } from "./lib/common.mjs";

let auth;
async function appAuth() {
  const { value } = await secret();
  auth ??= createAppAuth({
    appId: value.app_id,
    privateKey: value.private_key,
    clientId: value.client_id,
    clientSecret: value.client_secret,
    request: github,
  });
  return auth;
}

async function connection(sub) {
  const { Item } = await ddb.send(new GetCommand({ TableName: TABLE, Key: { pk: `user#${sub}`, sk: "conn" } }));
  return Item;
}

// The user's token, refreshed (and the new pair stored) when under 5 minutes are left.
async function userToken(sub, conn) {
  const pk = `user#${sub}`;
  const now = Math.floor(Date.now() / 1000);
  if (conn.access_exp - now > 300) return open(conn.access, pk);
  const { value } = await secret();
  const { authentication: a } = await refreshToken({
    clientType: "github-app",
    clientId: value.client_id,
    clientSecret: value.client_secret,
    refreshToken: await open(conn.refresh, pk),
    request: github.defaults({ baseUrl: WEB }),
  });
  await ddb.send(
    new PutCommand({
      TableName: TABLE,
      Item: { ...conn, access: await seal(a.token, pk), access_exp: now + 28800, refresh: await seal(a.refreshToken, pk) },
    }),
  );
  return a.token;
}

async function reachable(token) {
  return github.defaults({ headers: { authorization: `bearer ${token}` } })("GET /user/installations", { per_page: 100 })
    .then((r) => r.data.installations);
}

async function linkedInstallations(account) {
  const { Items = [] } = await ddb.send(
    new QueryCommand({ TableName: TABLE, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": `acct#${account}` } }),
  );
  if (!Items.length) return [];
  const { Responses } = await ddb.send(
    new BatchGetCommand({ RequestItems: { [TABLE]: { Keys: Items.map((l) => ({ pk: l.sk, sk: "inst" })) } } }),
  );
  return Responses[TABLE].filter((i) => !i.deleted);
}

async function vend(account, id, req) {
  const { Responses } = await ddb.send(
    new BatchGetCommand({
      RequestItems: { [TABLE]: { Keys: [{ pk: `acct#${account}`, sk: `inst#${id}` }, { pk: `inst#${id}`, sk: "inst" }] } },
    }),
  );
  const items = Responses[TABLE];
  const link = items.find((i) => i.pk.startsWith("acct#"));
  const inst = items.find((i) => i.pk.startsWith("inst#"));
  if (!link || !inst || inst.deleted) return error(403, "installation_not_linked", "not linked");
  if (inst.status !== "active") return error(403, "installation_suspended", "suspended");
  const a = await (await appAuth())({
    type: "installation",
    installationId: id,
    repositoryNames: req.repositories,
    permissions: req.permissions,
  });
  return json(200, {
    token: a.token,
    expires_at: a.expiresAt,
    permissions: a.permissions,
    repository_selection: a.repositorySelection,
  });
}

async function link(user, account, id) {
  if (!user.accounts.includes(account)) return error(403, "not_a_member", "not in that account");
  const conn = await connection(user.sub);
  if (!conn) return error(409, "not_connected", "connect GitHub first");
  const found = (await reachable(await userToken(user.sub, conn))).find((i) => i.id === id);
  if (!found) return error(403, "installation_not_reachable", "not reachable");
  await ddb.send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: TABLE, Item: { pk: `acct#${account}`, sk: `inst#${id}` } } },
        { Put: { TableName: TABLE, Item: { pk: `inst#${id}`, sk: `acct#${account}` } } },
        {
          Put: {
            TableName: TABLE,
            Item: {
              pk: `inst#${id}`,
              sk: "inst",
              account_id: found.account.id,
              login: found.account.login,
              type: found.account.type,
              selection: found.repository_selection,
              permissions: found.permissions,
              status: found.suspended_at ? "suspended" : "active",
            },
          },
        },
      ],
    }),
  );
  return json(200, { account_id: account, installation_id: id, linked: true });
}

export async function handler(event) {
  const method = event.requestContext.http.method;
  const parts = event.rawPath.split("/").filter(Boolean);
  if (parts[0] === "internal") {
    if (!isIam(event)) return error(403, "forbidden", "IAM only");
    const req = body(event);
    if (parts[1] === "accounts" && parts[3] === "installations") return vend(parts[2], Number(parts[4]), req);
    if (parts[1] === "accounts" && parts[3] === "token") {
      const owner = (await linkedInstallations(parts[2])).find((i) => i.login.toLowerCase() === req.owner.toLowerCase());
      if (!owner) return error(403, "installation_not_linked", "no installation on that owner");
      return vend(parts[2], Number(owner.pk.slice(5)), req);
    }
    if (parts[1] === "users") {
      const conn = await connection(parts[2]);
      if (!conn) return error(404, "not_connected", "no connection");
      return json(200, {
        token: await userToken(parts[2], conn),
        expires_at: new Date(conn.access_exp * 1000).toISOString(),
        github_user: { id: conn.github_id, login: conn.login },
      });
    }
    return error(404, "not_found", "no such route");
  }
  const user = caller(event);
  if (!user) return error(401, "unauthenticated", "no caller");
  if (method === "GET" && event.rawPath === "/github/user") {
    const conn = await connection(user.sub);
    return json(200, conn ? { connected: true, login: conn.login, id: conn.github_id } : { connected: false });
  }
  if (method === "GET" && event.rawPath === "/github/installations") {
    const conn = await connection(user.sub);
    if (!conn) return error(409, "not_connected", "connect GitHub first");
    const all = await reachable(await userToken(user.sub, conn));
    const keys = user.accounts.flatMap((a) => all.map((i) => ({ pk: `acct#${a}`, sk: `inst#${i.id}` })));
    const { Responses } = keys.length
      ? await ddb.send(new BatchGetCommand({ RequestItems: { [TABLE]: { Keys: keys } } }))
      : { Responses: { [TABLE]: [] } };
    return json(200, {
      installations: all.map((i) => ({
        id: i.id,
        account: { login: i.account.login, type: i.account.type },
        linked_accounts: Responses[TABLE].filter((l) => l.sk === `inst#${i.id}`).map((l) => l.pk.slice(5)),
      })),
    });
  }
  if (parts[0] === "accounts" && parts[2] === "installations") {
    if (!user.accounts.includes(parts[1])) return error(403, "not_a_member", "not in that account");
    if (method === "GET" && parts.length === 3) {
      const list = await linkedInstallations(parts[1]);
      return json(200, { installations: list.map((i) => ({ id: Number(i.pk.slice(5)), login: i.login, status: i.status })) });
    }
    if (method === "PUT" && parts.length === 4) return link(user, parts[1], Number(parts[3]));
  }
  return error(404, "not_found", "no such route");
}
