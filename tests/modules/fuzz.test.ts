import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { api } from "../helpers/client";
import { bearer, registerUser } from "../helpers/identity";

type Operation = { requestBody?: { content?: Record<string, unknown> } };
type Doc = { paths: Record<string, Record<string, Operation>> };

/** Path parameters filled with well-formed ids nobody owns. */
const fillPath = (path: string) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const prefix = name === "orgId" ? "org" : name === "userId" ? "usr" : "key";
    return `${prefix}_01JD0000000000000000000000`;
  });

describe("validation never answers 500", () => {
  it("to arbitrary JSON on every JSON endpoint", async () => {
    const doc = (await api<Doc>("/openapi.json")).body;
    const { tokens } = await registerUser();
    const targets = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, operation]) => operation.requestBody?.content?.["application/json"])
        .map(([method]) => ({ method: method.toUpperCase(), path: fillPath(path) })),
    );
    expect(targets.length).toBeGreaterThan(15);
    for (const target of targets) {
      await fc.assert(
        fc.asyncProperty(fc.jsonValue({ maxDepth: 3 }), async (value) => {
          const response = await api(target.path, {
            method: target.method,
            json: value,
            headers: bearer(tokens.accessToken),
          });
          expect(response.status, `${target.method} ${target.path} ${JSON.stringify(value)}`).toBeLessThan(500);
        }),
        { numRuns: 12 },
      );
    }
  });
});
