import { afterEach, describe, expect, it, vi } from "vitest";
import { authenticatorPort } from "../../src/middleware/auth";
import { limitPolicyPort } from "../../src/middleware/rate-limit";
import { wireModules } from "../../src/modules";
import { orgDeletionCleanups, orgDeletionGuards } from "../../src/modules/identity/api";
import { subscriptionPlanPort } from "../../src/modules/plans/api";
import { port } from "../../src/platform/port";
import { api } from "../helpers/client";
import { as, registerUser } from "../helpers/identity";

/** The composition root wires every port; one left unwired fails loudly, never silently defaults. */

afterEach(() => {
  wireModules();
  vi.restoreAllMocks();
});

describe("ports", () => {
  it("throw at first use when unwired, naming the composition root", () => {
    expect(() => port<() => void>("x: a hook").get()).toThrow("x: a hook is not wired: see src/modules.ts");
  });

  it("are all wired by the composition root", () => {
    wireModules();
    for (const wired of [
      authenticatorPort,
      subscriptionPlanPort,
      orgDeletionGuards,
      orgDeletionCleanups,
      limitPolicyPort,
    ])
      expect(wired.get()).toBeTruthy();
  });

  it("an unwired one fails the first request that needs it with a 500, never a silent default plan", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const user = await registerUser();
    subscriptionPlanPort.wire(undefined as never);
    const response = await api("/v1/me/limits", { headers: as(user) });
    expect(response.status).toBe(500);
    expect(error.mock.calls.flat().join(" ")).toContain("the subscription plan of an account is not wired");
  });
});
