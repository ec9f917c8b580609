// What every function shares: configuration, the secret (fetched on first
// use and kept 5 minutes), the DynamoDB document client, token sealing,
// the caller, and responses.
import crypto from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { SecretsManagerClient, GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { request } from "@octokit/request";

export const TABLE = process.env.TABLE_NAME;
export const API = process.env.GITHUB_API_URL ?? "https://api.github.com";
export const WEB = process.env.GITHUB_WEB_URL ?? "https://github.com";
export const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const secrets = new SecretsManagerClient({});
export const github = request.defaults({ baseUrl: API, headers: { "x-github-api-version": "2022-11-28" } });

let cached;
export async function secret() {
  if (!cached || Date.now() - cached.at > 300_000) {
    const out = await secrets.send(new GetSecretValueCommand({ SecretId: process.env.APP_SECRET_ID }));
    const value = JSON.parse(out.SecretString);
    cached = { at: Date.now(), value, key: Buffer.from(value.token_encryption_key, "base64") };
  }
  return cached;
}

// AES-256-GCM with the item's key as associated data, as the broker does.
export async function seal(plain, aad) {
  const { key } = await secret();
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv("aes-256-gcm", key, iv);
  c.setAAD(Buffer.from(aad));
  const body = Buffer.concat([c.update(plain, "utf8"), c.final()]);
  return Buffer.concat([iv, body, c.getAuthTag()]).toString("base64");
}

export async function open(sealed, aad) {
  const { key } = await secret();
  const raw = Buffer.from(sealed, "base64");
  const d = crypto.createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(raw.subarray(raw.length - 16));
  return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString("utf8");
}

export function json(statusCode, body) {
  return {
    statusCode,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
    body: JSON.stringify(body),
  };
}

export const error = (status, code, message) => json(status, { error: { code, message } });

export function body(event) {
  if (!event.body) return {};
  const text = event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
  return JSON.parse(text);
}

// API Gateway renders array claims as "[a b]".
export function caller(event) {
  const claims = event.requestContext?.authorizer?.jwt?.claims;
  if (!claims?.sub) return undefined;
  const raw = claims[process.env.ACCOUNTS_CLAIM ?? "accounts"] ?? "";
  const accounts = raw.replace(/^\[|\]$/g, "").split(/[\s,]+/).filter(Boolean);
  return { sub: claims.sub, accounts };
}

export const isIam = (event) => Boolean(event.requestContext?.authorizer?.iam);
