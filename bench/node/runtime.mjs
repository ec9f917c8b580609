// A minimal equivalent of Lambda's Node.js runtime interface client: load
// the handler module (init), then loop: GET next → handler(event, context)
// → POST response (or error). Like the managed runtime it keeps one
// keep-alive connection to the Runtime API. Usage: node runtime.mjs FUNCTION
import http from "node:http";

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const base = "/2018-06-01/runtime";

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port, method, path: base + path, agent, headers: body ? { "content-type": "application/json" } : {} },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const errorBody = (e) => JSON.stringify({ errorType: e?.name ?? "Error", errorMessage: String(e?.message ?? e) });

let handler;
try {
  ({ handler } = await import(`./${process.argv[2]}.mjs`));
} catch (e) {
  await call("POST", "/init/error", errorBody(e));
  process.exit(1);
}

for (;;) {
  const next = await call("GET", "/invocation/next");
  const id = next.headers["lambda-runtime-aws-request-id"];
  const deadline = Number(next.headers["lambda-runtime-deadline-ms"]);
  const context = {
    awsRequestId: id,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    invokedFunctionArn: next.headers["lambda-runtime-invoked-function-arn"],
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  try {
    const result = await handler(JSON.parse(next.body), context);
    await call("POST", `/invocation/${id}/response`, JSON.stringify(result));
  } catch (e) {
    await call("POST", `/invocation/${id}/error`, errorBody(e));
  }
}
