import { expect } from "vitest";
import { API_KEY_SCOPES, type ApiKeyScope } from "../../src/middleware/permissions";
import { type ApiRequest, type ApiResponse, api } from "./client";
import { as, bearer, type Registered } from "./identity";
import { createOrg, join, type Org, onPlan, verified } from "./orgs";

/**
 * The role matrix of authorization tests: one cast, built through the real API, and one request
 * sent as each of its roles with the exact status each must get.
 *
 *   const cast = await roleMatrix({ scope: "ai" });
 *   await expectMatrix(cast, { path: "/v1/usage" }, {
 *     owner: 200, admin: 200, member: [403, "forbidden"], outsider: [404, "not_found"],
 *     keyWithScope: 200, keyWithoutScope: [403, "forbidden"],
 *   });
 *
 * Every role must be given: a route that takes no API keys says so with 403 for both keys.
 */

/** In the order `expectMatrix` sends its requests. */
export const ROLES = ["owner", "admin", "member", "outsider", "keyWithScope", "keyWithoutScope"] as const;
export type Role = (typeof ROLES)[number];

export type Cast = {
  /** The org under test, on the free plan unless `plan` said otherwise. */
  org: Org;
  owner: Registered;
  admin: Registered;
  member: Registered;
  /** A verified user who owns an org of their own (`outsiderOrg`), not this one. */
  outsider: Registered;
  outsiderOrg: Org;
  /** Secrets of two API keys the owner created for the org: with `scope`, and with another scope only. */
  keyWithScope: string;
  keyWithoutScope: string;
  scope: ApiKeyScope;
  /**
   * The headers of a request as `role`: its bearer token, and `X-Stratus-Org: <org.id>` unless
   * `org` is false (routes that name the org in their path). The outsider names this org too;
   * the keys are bound to it either way.
   */
  headersOf(role: Role, options?: { org?: boolean }): Record<string, string>;
};

/** The statuses a matrix expects: a status, or a status and the problem's (or OpenAI error's) code. */
export type Expected = number | readonly [status: number, code: string];
export type Matrix = Record<Role, Expected>;

/** What every member of an org may read, on a route that takes no API keys whatever their scope. */
export const MEMBERS_WITHOUT_KEYS: Matrix = {
  owner: 200,
  admin: 200,
  member: 200,
  outsider: [404, "not_found"],
  keyWithScope: [403, "forbidden"],
  keyWithoutScope: [403, "forbidden"],
};

/** What only an org's owners and admins may do (and its keys with the scope): members 403, outsiders 404. */
export const OWNERS_AND_ADMINS: Matrix = {
  owner: 200,
  admin: 200,
  member: [403, "forbidden"],
  outsider: [404, "not_found"],
  keyWithScope: 200,
  keyWithoutScope: [403, "forbidden"],
};

/**
 * A fresh cast, built once per call: an org created by its owner, an admin and a member who
 * accepted invitations, an outsider (owner of another org), and two org keys of the owner.
 * `scope` is the scope the route under test takes ("ai" by default); `plan` puts the org on a
 * plan first (more seats than the free plan's three, for tests that add members of their own).
 */
export async function roleMatrix(options: { scope?: ApiKeyScope; plan?: "premium" | "pro" } = {}): Promise<Cast> {
  const scope = options.scope ?? "ai";
  const otherScope = API_KEY_SCOPES.find((candidate) => candidate !== scope) as ApiKeyScope;
  const [owner, admin, member, outsider] = await Promise.all([verified(), verified(), verified(), verified()]);
  const org = await createOrg(owner, "Matrix Inc");
  const outsiderOrg = await createOrg(outsider, "Elsewhere Ltd");
  if (options.plan) await onPlan(org.id, options.plan);
  await join(org, owner, admin, "admin");
  await join(org, owner, member, "member");
  const orgKey = async (scopes: ApiKeyScope[]) => {
    const created = await api<{ secret: string }>("/v1/api-keys", {
      json: { name: `matrix ${scopes.join(" ")}`, scopes, orgId: org.id },
      headers: as(owner),
    });
    if (created.status !== 201) throw new Error(`org key failed: ${created.status} ${created.text}`);
    return created.body.secret;
  };
  const keyWithScope = await orgKey([scope]);
  const keyWithoutScope = await orgKey([otherScope]);
  const users = { owner, admin, member, outsider };
  const keys = { keyWithScope, keyWithoutScope };
  return {
    org,
    owner,
    admin,
    member,
    outsider,
    outsiderOrg,
    keyWithScope,
    keyWithoutScope,
    scope,
    headersOf(role, { org: named = true } = {}) {
      const credential = role === "keyWithScope" || role === "keyWithoutScope" ? bearer(keys[role]) : as(users[role]);
      return named ? { ...credential, "x-stratus-org": org.id } : credential;
    },
  };
}

/** A request to send as each role: a path and `api`'s options, or a function of the role's headers. */
export type MatrixRequest<T> =
  | (ApiRequest & { path: string; org?: boolean })
  | ((headers: Record<string, string>, role: Role) => Promise<ApiResponse<T>>);

const codeOf = (response: ApiResponse<unknown>) => {
  const body = response.body as { code?: unknown; error?: { code?: unknown } } | undefined;
  return typeof body === "object" && body ? (body.code ?? body.error?.code) : undefined;
};

/**
 * Sends the request as each role, one after another in `ROLES` order, and asserts every status
 * (and code, where given) at once: a failure shows the whole matrix, expected against actual.
 * A request that changes what the next role would find (a delete) should be a function that
 * builds its own target per role. Answers the responses by role, for further assertions.
 */
export async function expectMatrix<T = Record<string, unknown>>(
  cast: Cast,
  request: MatrixRequest<T>,
  expected: Matrix,
): Promise<Record<Role, ApiResponse<T>>> {
  const responses = {} as Record<Role, ApiResponse<T>>;
  for (const role of ROLES) {
    if (typeof request === "function") {
      responses[role] = await request(cast.headersOf(role), role);
    } else {
      const { path, org, headers, ...init } = request;
      responses[role] = await api<T>(path, { ...init, headers: { ...headers, ...cast.headersOf(role, { org }) } });
    }
  }
  const actual = Object.fromEntries(
    ROLES.map((role) => {
      const response = responses[role];
      return [role, typeof expected[role] === "number" ? response.status : [response.status, codeOf(response)]];
    }),
  );
  const answers = ROLES.map((role) => `${role}: ${responses[role].status} ${responses[role].text.slice(0, 200)}`);
  const label =
    typeof request === "function"
      ? "the request"
      : `${request.method ?? (request.json === undefined && request.body === undefined ? "GET" : "POST")} ${request.path}`;
  expect(actual, `${label} by role; answers:\n${answers.join("\n")}`).toEqual(expected);
  return responses;
}
