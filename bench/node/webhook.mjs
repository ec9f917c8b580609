// GitHub webhooks, verified and routed by @octokit/webhooks; each delivery
// claimed once in DynamoDB (conditional put), then applied.
import { Webhooks } from "@octokit/webhooks";
import { PutCommand, UpdateCommand, QueryCommand, BatchWriteCommand, DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { ddb, TABLE, secret, json, error } from "./lib/common.mjs";

const HANDLED = new Set(["installation", "installation_repositories", "installation_target", "github_app_authorization"]);

async function putInstallation({ payload }) {
  const i = payload.installation;
  await ddb.send(
    new PutCommand({
      TableName: TABLE,
      Item: {
        pk: `inst#${i.id}`,
        sk: "inst",
        account_id: i.account.id,
        login: i.account.login,
        type: i.account.type,
        selection: payload.repository_selection ?? i.repository_selection,
        permissions: i.permissions,
        status: i.suspended_at ? "suspended" : "active",
      },
      // A deleted installation stays deleted.
      ConditionExpression: "attribute_not_exists(deleted)",
    }),
  ).catch((e) => {
    if (e.name !== "ConditionalCheckFailedException") throw e;
  });
}

async function deleteInstallation({ payload }) {
  const id = payload.installation.id;
  await ddb.send(new PutCommand({ TableName: TABLE, Item: { pk: `inst#${id}`, sk: "inst", deleted: true } }));
  const { Items = [] } = await ddb.send(
    new QueryCommand({ TableName: TABLE, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": `inst#${id}` } }),
  );
  const deletes = Items.filter((l) => l.sk.startsWith("acct#")).flatMap((l) => [
    { DeleteRequest: { Key: { pk: l.pk, sk: l.sk } } },
    { DeleteRequest: { Key: { pk: l.sk, sk: l.pk } } },
  ]);
  for (let i = 0; i < deletes.length; i += 25) {
    await ddb.send(new BatchWriteCommand({ RequestItems: { [TABLE]: deletes.slice(i, i + 25) } }));
  }
}

async function rename({ payload }) {
  await ddb.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: { pk: `inst#${payload.installation.id}`, sk: "inst" },
      UpdateExpression: "SET login = :l",
      ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(deleted)",
      ExpressionAttributeValues: { ":l": payload.account.login },
    }),
  ).catch((e) => {
    if (e.name !== "ConditionalCheckFailedException") throw e;
  });
}

async function revoke({ payload }) {
  const { Items = [] } = await ddb.send(
    new QueryCommand({
      TableName: TABLE,
      IndexName: "gsi1",
      KeyConditionExpression: "gsi1pk = :g",
      ExpressionAttributeValues: { ":g": `ghuser#${payload.sender.id}` },
    }),
  );
  for (const c of Items) await ddb.send(new DeleteCommand({ TableName: TABLE, Key: { pk: c.pk, sk: c.sk } }));
}

let webhooks;
async function app() {
  const { value } = await secret();
  if (!webhooks) {
    webhooks = new Webhooks({ secret: value.webhook_secret });
    webhooks.on(
      ["installation.created", "installation.suspend", "installation.unsuspend", "installation.new_permissions_accepted"],
      putInstallation,
    );
    webhooks.on("installation.deleted", deleteInstallation);
    webhooks.on(["installation_repositories.added", "installation_repositories.removed"], putInstallation);
    webhooks.on("installation_target.renamed", rename);
    webhooks.on("github_app_authorization.revoked", revoke);
  }
  return webhooks;
}

export async function handler(event) {
  const h = event.headers ?? {};
  const raw = event.isBase64Encoded ? Buffer.from(event.body ?? "", "base64").toString("utf8") : event.body ?? "";
  const hooks = await app();
  if (!h["x-hub-signature-256"] || !(await hooks.verify(raw, h["x-hub-signature-256"]))) {
    return error(401, "invalid_signature", "signature does not match");
  }
  let payload;
  try {
    payload = JSON.parse(raw);
  } catch {
    return error(400, "invalid_payload", "not JSON");
  }
  const name = h["x-github-event"];
  if (!HANDLED.has(name)) return json(200, "ignored");
  try {
    await ddb.send(
      new PutCommand({
        TableName: TABLE,
        Item: { pk: `delivery#${h["x-github-delivery"]}`, sk: "delivery", expire_at: Math.floor(Date.now() / 1000) + 7 * 86400 },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
  } catch (e) {
    if (e.name === "ConditionalCheckFailedException") return json(200, "duplicate delivery");
    throw e;
  }
  await hooks.receive({ id: h["x-github-delivery"], name, payload });
  return json(200, "processed");
}
