// Bramble's bootstrap of the managed nodejs runtime: Lambda's Runtime API client and handler loader.
//
// Node's standard library only, so a device needs nothing but its own node. It does what Lambda's Node.js runtime
// does: loads the handler named by _HANDLER (module.function; module a .js, .mjs or .cjs file under the bundle's
// top, LAMBDA_TASK_ROOT), then asks the Runtime API (AWS_LAMBDA_RUNTIME_API) for each invocation, calls the
// handler (async, or with a callback) and posts the result, or Lambda's error object.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { pathToFileURL } from 'node:url';
import { AsyncLocalStorage } from 'node:async_hooks';

const API = '/2018-06-01/runtime';
const [host, port] = (() => {
  const endpoint = process.env.AWS_LAMBDA_RUNTIME_API;
  const at = endpoint.lastIndexOf(':');
  return [endpoint.slice(0, at), Number(endpoint.slice(at + 1))];
})();
// AWS_LAMBDA_MAX_CONCURRENCY: that many invocations polled and run at once (concurrency.perEnvironment)
const workers = Math.max(1, Number(process.env.AWS_LAMBDA_MAX_CONCURRENCY ?? 1));
const agent = new http.Agent({ keepAlive: true, maxSockets: workers });

// One request. The daemon closes a kept-alive connection after a long poll outlived its idle limit, or one left
// idle through a long invocation; a request that finds its reused socket closed that way is sent again, once, on a
// fresh one (Node's own advice for keep-alive agents). Nothing was taken: the daemon never read it.
function request(method, p, body, headers = {}, retried = false) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body);
    const req = http.request({ host, port, method, path: API + p, agent,
      headers: data ? { ...headers, 'Content-Length': data.length } : headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', (e) => {
      if (req.reusedSocket && !retried && (e.code === 'ECONNRESET' || e.message === 'socket hang up')) {
        resolve(request(method, p, body, headers, true));
      } else {
        reject(e);
      }
    });
    req.end(data);
  });
}

// Lambda's console format: time, request id, level, message; one write per call (pipes are synchronous on Linux).
const invocation = new AsyncLocalStorage();
for (const [name, level] of [['log', 'INFO'], ['info', 'INFO'], ['warn', 'WARN'], ['error', 'ERROR'],
  ['debug', 'DEBUG'], ['trace', 'TRACE']]) {
  console[name] = (...args) => {
    const message = util.format(...args).replace(/\n/g, '\r');
    process.stdout.write(`${new Date().toISOString()}\t${invocation.getStore() ?? 'undefined'}\t${level}\t${message}\n`);
  };
}

function errorObject(e) {
  const error = e instanceof Error ? e : new Error(String(e));
  return { errorType: error.name ?? 'Error', errorMessage: error.message ?? String(e),
    trace: String(error.stack ?? '').split('\n') };
}

async function failInit(errorType, errorMessage, trace = []) {
  const error = { errorType, errorMessage, trace };
  process.stderr.write(`${new Date().toISOString()}\tundefined\tERROR\t${JSON.stringify(error)}\n`);
  await request('POST', '/init/error', JSON.stringify(error), { 'Lambda-Runtime-Function-Error-Type': errorType });
  process.exit(1);
}

async function loadHandler() {
  const spec = process.env._HANDLER;
  const dot = spec.lastIndexOf('.');
  const moduleName = spec.slice(0, dot);
  const functionName = spec.slice(dot + 1);
  const root = process.env.LAMBDA_TASK_ROOT;
  const file = ['.js', '.mjs', '.cjs'].map((x) => path.join(root, moduleName + x)).find((f) => fs.existsSync(f));
  if (!file) {
    return failInit('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'`);
  }
  let module;
  try {
    module = await import(pathToFileURL(file).href);
  } catch (e) {
    const error = errorObject(e);
    return failInit('Runtime.ImportModuleError', `${error.errorType}: ${error.errorMessage}`, error.trace);
  }
  const handler = module[functionName] ?? module.default?.[functionName];
  if (typeof handler !== 'function') {
    return failInit('Runtime.HandlerNotFound', `${spec} is undefined or not exported`);
  }
  return handler;
}

function context(requestId, headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms'] ?? 0);
  const clientContext = headers['lambda-runtime-client-context'];
  const identity = headers['lambda-runtime-cognito-identity'];
  return {
    awsRequestId: requestId,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: clientContext ? JSON.parse(clientContext) : undefined,
    identity: identity ? JSON.parse(identity) : undefined,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

function call(handler, event, ctx) {
  if (handler.length >= 3) {
    // the callback style: handler(event, context, callback)
    return new Promise((resolve, reject) => {
      const done = (err, result) => (err ? reject(err) : resolve(result));
      const returned = handler(event, ctx, done);
      if (returned && typeof returned.then === 'function') {
        returned.then(resolve, reject);
      }
    });
  }
  return Promise.resolve().then(() => handler(event, ctx));
}

async function serve(handler) {
  for (;;) {
    const next = await request('GET', '/invocation/next');
    if (next.status !== 200) {
      process.stderr.write(`Runtime API: GET next answered ${next.status}: ${next.body.toString().slice(0, 200)}\n`);
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const requestId = next.headers['lambda-runtime-aws-request-id'];
    if (next.headers['lambda-runtime-trace-id']) {
      process.env._X_AMZN_TRACE_ID = next.headers['lambda-runtime-trace-id'];
    }
    await invocation.run(requestId, async () => {
      try {
        const event = next.body.length ? JSON.parse(next.body.toString()) : null;
        const result = await call(handler, event, context(requestId, next.headers));
        const answer = JSON.stringify(result === undefined ? null : result);
        await request('POST', `/invocation/${requestId}/response`, answer, { 'Content-Type': 'application/json' });
      } catch (e) {
        const error = errorObject(e);
        console.error('Invoke Error', JSON.stringify(error));
        await request('POST', `/invocation/${requestId}/error`, JSON.stringify(error),
          { 'Lambda-Runtime-Function-Error-Type': error.errorType });
      }
    });
  }
}

async function main() {
  const handler = await loadHandler();
  await Promise.all(Array.from({ length: workers }, () => serve(handler)));
}

main().catch((e) => {
  process.stderr.write(`bootstrap failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
