import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A scriptable fake of an external HTTP API, for tests of outbound adapters. Tests running
 * inside workerd script it over HTTP (they cannot call into Node):
 *
 *   POST /__control/script  {method, path, status, body?, headers?, delayMs?, times?, echoHeaders?}
 *   GET  /__control/calls?prefix=/x   → the requests received under that path prefix
 *
 * Scripts are keyed by method and path; a test uses its own path prefix so files running in
 * parallel never see each other's scripts or calls. An unscripted request answers 501.
 */

type Script = {
  method: string;
  path: string;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
  /** Answers this many times, then falls through to the next script for the route. */
  times?: number;
  /** A hostile upstream: the body repeats the request's headers, credentials included. */
  echoHeaders?: boolean;
};

type Call = { method: string; path: string; headers: Record<string, string>; body: string; at: number };

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startFakeUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const scripts: Script[] = [];
  const calls: Call[] = [];

  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://fake");
    const body = await readBody(request);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { "content-type": "application/json", ...headers });
      response.end(typeof payload === "string" ? payload : JSON.stringify(payload));
    };

    if (url.pathname === "/__control/script" && request.method === "POST") {
      scripts.push(JSON.parse(body) as Script);
      return send(204, "");
    }
    if (url.pathname === "/__control/calls" && request.method === "GET") {
      const prefix = url.searchParams.get("prefix") ?? "/";
      return send(
        200,
        calls.filter((call) => call.path.startsWith(prefix)),
      );
    }

    calls.push({
      method: request.method ?? "GET",
      path: url.pathname + url.search,
      headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)])),
      body,
      at: Date.now(),
    });
    const index = scripts.findIndex((s) => s.method === request.method && s.path === url.pathname);
    const script = scripts[index];
    if (!script) return send(501, { error: `unscripted ${request.method} ${url.pathname}` });
    if (script.times !== undefined && --script.times <= 0) scripts.splice(index, 1);
    if (script.delayMs) await new Promise((resolve) => setTimeout(resolve, script.delayMs));
    const answer = script.echoHeaders
      ? { error: { message: `bad request; headers: ${JSON.stringify(request.headers)}` } }
      : script.body;
    send(script.status, answer ?? "", script.headers);
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
