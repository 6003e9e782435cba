import { env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { MAX_JSON_DEPTH } from "../../src/middleware/body-limits";
import { fund, scenario } from "../helpers/ai";
import { api } from "../helpers/client";
import { bearer, registerUser } from "../helpers/identity";

/**
 * Fuzzing every JSON endpoint of the OpenAPI document: arbitrary JSON, hostile nesting, and
 * bodies with each documented field present but of a confused type. Strings carry markers of
 * scenarios in which every upstream simulator is hostile (answers of the wrong types, no JSON,
 * huge indexes, errors echoing our keys, impossible usage, outages), so requests that pass
 * validation meet the worst upstreams too. Whatever happens: never a 5xx other than the
 * documented 503 of an upstream that cannot answer, and never a key in an answer.
 */

type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  pattern?: string;
};
type Operation = { requestBody?: { content?: Record<string, { schema?: Schema }> } };
type Doc = { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, Schema> } };
type Target = { method: string; path: string; schema: Schema | undefined };

const SECRETS = ["sk-stratus-tests", "sk-ant-stratus-tests", "google-translate-stratus-tests", "deepl-stratus-tests"];
const translateSimulator = inject("translateSimulatorUrl");

/** Path parameters filled with well-formed ids nobody owns. */
const fillPath = (path: string) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const prefix = name === "orgId" ? "org" : name === "userId" ? "usr" : "key";
    return `${prefix}_01JD0000000000000000000000`;
  });

let doc: Doc;
let targets: Target[];
let token: string;
/** Strings that name hostile scenarios of the AI and translation simulators. */
let hostileTexts: string[];
/** How many requests reached the hostile upstreams: the fuzzer must get there. */
let upstreamRequests: () => Promise<number>;

const resolve = (schema: Schema | undefined): Schema | undefined => {
  const name = schema?.$ref?.split("/").at(-1);
  return name ? doc.components?.schemas?.[name] : schema;
};

beforeAll(async () => {
  doc = (await api<Doc>("/openapi.json")).body;
  targets = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([, operation]) => operation.requestBody?.content?.["application/json"])
      .map(([method, operation]) => ({
        method: method.toUpperCase(),
        path: fillPath(path),
        schema: resolve(operation.requestBody?.content?.["application/json"]?.schema),
      })),
  );
  const user = await registerUser();
  token = user.tokens.accessToken;
  await fund(user.user.id, 100_000_000);
  // On pro, so that the plan's request limits refuse fewer of the fuzzer's requests.
  await env.DB.prepare(
    "INSERT INTO plan_overrides (account_id, plan_id, set_by, created_at) VALUES (?, 'pro', 'fuzz', 0)",
  )
    .bind(user.user.id)
    .run();
  const llmSteps = [
    { hostile: "wrong_types" as const },
    { hostile: "garbage" as const },
    { hostile: "huge_index" as const },
    { status: 400, hostile: "echo_headers" as const },
    { status: 500, hostile: "echo_headers" as const },
    { usage: { prompt: -1_000_000, completion: 1e15, seconds: "long" } },
    { usage: { prompt: 1.5, completion: "7" } },
    { breakAfterChunks: 1 },
  ];
  const id = crypto.randomUUID();
  const openai = await scenario("openai", llmSteps, id);
  const anthropic = await scenario("anthropic", llmSteps, id);
  const translateId = crypto.randomUUID();
  const created = await fetch(`${translateSimulator}/__sim/scenarios/${translateId}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      steps: [
        { hostile: "wrong_types" },
        { hostile: "garbage" },
        { status: 400, hostile: "echo_headers" },
        { status: 503, hostile: "echo_headers" },
      ],
    }),
  });
  expect(created.status).toBe(200);
  hostileTexts = [`hi [scenario:${id}]`, `hallo [scenario:${translateId}]`];
  upstreamRequests = async () => {
    const translated = await fetch(`${translateSimulator}/__sim/scenarios/${translateId}/calls`);
    const calls = ((await translated.json()) as { data: unknown[] }).data.length;
    return (await openai.requests()).length + (await anthropic.requests()).length + calls;
  };
});

/** A value of a confused type for a field, or (sometimes) one of its own type, hostile markers included. */
function confused(field: Schema | undefined): fc.Arbitrary<unknown> {
  const schema = resolve(field);
  const text = fc.oneof(fc.constantFrom(...hostileTexts), fc.string({ maxLength: 40 }));
  const own: fc.Arbitrary<unknown>[] = schema?.enum?.length ? [fc.constantFrom(...schema.enum)] : [];
  const types = [schema?.type ?? []].flat();
  if (types.includes("string")) own.push(text);
  if (types.includes("integer") || types.includes("number")) own.push(fc.integer({ min: 1, max: 64 }));
  if (types.includes("array")) own.push(fc.array(text, { maxLength: 3 }));
  return fc.oneof(
    ...own,
    fc.constantFrom(null, true, -1, 0, 1.5, 1e308, -1e15, "", "0", "NaN", [], {}, [[[[]]]], "x".repeat(20_000)),
    fc.integer(),
    fc.double({ noNaN: true }),
    text,
    fc.array(fc.oneof(fc.integer(), text, fc.constant(null)), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), text), { maxKeys: 3 }),
  );
}

/** Values the fuzzer knows are worth sending, by field name: they get requests past the lookups to the upstreams. */
const KNOWN: Record<string, unknown[]> = {
  model: ["gpt-4o-mini", "claude-3-5-haiku", "text-embedding-3-small", "dall-e-3", "tts-1"],
  target: ["de", "fr"],
  source: ["en"],
  voice: ["alloy"],
  provider: ["google", "deepl", "ai"],
};

/**
 * A body that follows the schema (required fields, nested objects, arrays, enums, unions), its
 * strings naming hostile scenarios or known values: the bodies that reach the upstreams.
 */
function plausible(field: Schema | undefined, name = "", depth = 0): fc.Arbitrary<unknown> {
  const schema = resolve(field);
  if (!schema || depth > 5) return fc.constantFrom(...hostileTexts);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum?.length) return fc.constantFrom(...schema.enum);
  const options = schema.anyOf ?? schema.oneOf;
  if (options?.length) return fc.oneof(...options.map((option) => plausible(option, name, depth + 1)));
  if (KNOWN[name]) return fc.constantFrom(...(KNOWN[name] as unknown[]));
  const type = [schema.type ?? "string"].flat()[0];
  if (type === "object") {
    const properties = Object.entries(schema.properties ?? {}).filter(
      ([key]) => depth < 2 || schema.required?.includes(key),
    );
    const record = Object.fromEntries(properties.map(([key, inner]) => [key, plausible(inner, key, depth + 1)]));
    return fc.record(record, { requiredKeys: schema.required?.filter((key) => key in record) ?? [] });
  }
  if (type === "array") return fc.array(plausible(schema.items, name, depth + 1), { minLength: 1, maxLength: 2 });
  if (type === "integer" || type === "number") {
    const min = Math.ceil(Math.max(schema.minimum ?? 1, 0));
    return fc.integer({ min, max: Math.max(min, Math.floor(Math.min(schema.maximum ?? 16, 16))) });
  }
  if (type === "boolean") return fc.boolean();
  // A pattern (names, ids) is met by a plain word; other strings carry the hostile markers.
  return schema.pattern ? fc.constant("fuzz") : fc.constantFrom(...hostileTexts);
}

/** Routes that call an upstream, where a 503 `provider_unavailable` is a documented answer. */
const UPSTREAM_ROUTES = [
  "/v1/chat/",
  "/v1/embeddings",
  "/v1/images/",
  "/v1/audio/",
  "/v1/translate",
  "/v1/conversations/",
  "/v1/billing/",
];

/** Valid bodies of the routes that call upstreams, always tried first, one per hostile text. */
const EXAMPLES: Record<string, (text: string) => Record<string, unknown>> = {
  "/v1/chat/completions": (text) => ({ model: "gpt-4o-mini", messages: [{ role: "user", content: text }] }),
  "/v1/embeddings": (text) => ({ model: "text-embedding-3-small", input: [text, "b"] }),
  "/v1/images/generations": (text) => ({ model: "dall-e-3", prompt: text, response_format: "b64_json" }),
  "/v1/audio/speech": (text) => ({ model: "tts-1", voice: "alloy", input: text }),
  "/v1/translate": (text) => ({ q: [text, "x"], target: "de" }),
  "/v1/translate/detect": (text) => ({ q: [text] }),
};

/** A body with each documented field present or not, each of a confused type. */
function confusedBody(schema: Schema | undefined): fc.Arbitrary<Record<string, unknown>> {
  const properties = resolve(schema)?.properties ?? {};
  const record = Object.fromEntries(Object.entries(properties).map(([key, field]) => [key, confused(field)]));
  return fc.record(record, { requiredKeys: [] }) as fc.Arbitrary<Record<string, unknown>>;
}

/** Nesting around and far past the limit (64), of objects, arrays or both, under a documented field. */
const nesting = fc
  .record({ depth: fc.constantFrom(63, 64, 65, 200, 10_000), open: fc.constantFrom("[", '{"a":', '[{"b":') })
  .map(({ depth, open }) => {
    const close = open === "[" ? "]" : open === '{"a":' ? "}" : "}]";
    const levels = open === '[{"b":' ? depth * 2 : depth;
    return { levels, text: `${open.repeat(depth)}1${close.repeat(depth)}` };
  });

async function send(target: Target, body: string) {
  const response = await api(target.path, {
    method: target.method,
    body,
    headers: { ...bearer(token), "content-type": "application/json" },
  });
  const where = `${target.method} ${target.path} ${body.slice(0, 300)} → ${response.status} ${response.text.slice(0, 300)}`;
  // A 503 is only an upstream that could not answer, on a route that calls one; any other 5xx is a defect.
  if (response.status >= 500) {
    expect(
      UPSTREAM_ROUTES.some((prefix) => target.path.startsWith(prefix)),
      where,
    ).toBe(true);
    expect(response.status, where).toBe(503);
    expect(response.text, where).toContain("provider_unavailable");
  }
  for (const secret of SECRETS) expect(response.text, where).not.toContain(secret);
  return response;
}

describe("fuzzing the OpenAPI document: never a 5xx, never a key", () => {
  it("with arbitrary JSON on every JSON endpoint", async () => {
    expect(targets.length).toBeGreaterThan(30);
    for (const target of targets) {
      await fc.assert(
        fc.asyncProperty(fc.jsonValue({ maxDepth: 3 }), async (value) => {
          await send(target, JSON.stringify(value));
        }),
        { numRuns: 10 },
      );
    }
  }, 300_000);

  it("with every documented field of a confused type, and hostile upstreams behind", async () => {
    for (const target of targets) {
      const bodies = fc.oneof(
        { arbitrary: plausible(target.schema), weight: 3 },
        { arbitrary: confusedBody(target.schema), weight: 1 },
      );
      const example = EXAMPLES[target.path];
      await fc.assert(
        fc.asyncProperty(bodies, async (body) => {
          await send(target, JSON.stringify(body));
        }),
        { numRuns: 10, examples: example ? hostileTexts.map((text): [unknown] => [example(text)]) : [] },
      );
    }
    expect(await upstreamRequests()).toBeGreaterThanOrEqual(Object.keys(EXAMPLES).length * 2);
  }, 300_000);

  it("with hostile nesting under a documented field, or as the whole body", async () => {
    for (const target of targets) {
      const fields = Object.keys(resolve(target.schema)?.properties ?? {});
      await fc.assert(
        fc.asyncProperty(nesting, fc.constantFrom("", ...fields), async (nested, field) => {
          const body = field ? `{${JSON.stringify(field)}:${nested.text}}` : nested.text;
          const response = await send(target, body);
          // Past 64 levels, the body is refused before anything reads it, unless the caller is
          // refused first (admin routes) or throttled.
          if (nested.levels + (field ? 1 : 0) > MAX_JSON_DEPTH) {
            expect([400, 403, 429], response.text).toContain(response.status);
            if (response.status === 400) expect(response.text).toContain("json_too_complex");
          }
        }),
        { numRuns: 4 },
      );
    }
  }, 300_000);
});
