import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../../src/index";
import { RETENTION_MS } from "../../../src/modules/identity/retention";
import { DAY_MS, testClock } from "../../../src/platform/clock";
import { api } from "../../helpers/client";
import { countOf } from "../../helpers/db";
import { as, registerUser } from "../../helpers/identity";
import { createOrg } from "../../helpers/orgs";

/**
 * Rows that can no longer be used are deleted by the 5-minute cron once their retention has
 * passed (identity/retention.ts, the email outbox, failed queue tasks): run here on a clock
 * moved past each retention, and short of it.
 */

async function runCronAt(scheduledTime: number) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "*/5 * * * *", scheduledTime }), env, ctx);
  await waitOnExecutionContext(ctx);
}

afterEach(() => testClock.reset());

describe("the retention cron", () => {
  it("deletes ended sessions and their tokens, old email tokens, invitations, outbox rows and failed tasks", async () => {
    const user = await registerUser(); // a session, a verification token, an outbox row
    const owner = await registerUser();
    const org = await createOrg(owner);
    const invited = await api(`/v1/orgs/${org.id}/invitations`, {
      json: { email: "later@example.com", role: "member" },
      headers: as(owner),
    });
    expect(invited.status).toBe(201);
    // The user's session is revoked (sign-out), and its refresh token rotated once before.
    const refreshed = await api<{ refreshToken: string }>("/v1/auth/refresh", {
      json: { refreshToken: user.tokens.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    expect((await api("/v1/auth/logout", { method: "POST", headers: as(user) })).status).toBeLessThan(300);
    await env.DB.prepare(
      "INSERT INTO queue_tasks (id, kind, payload, reference, status, attempts, requeues, created_at, updated_at) VALUES ('tsk_old', 'x', '{}', 'retention:x', 'failed', 1, 0, 0, 0)",
    ).run();

    const ofUser = {
      sessions: () => countOf("SELECT count(*) AS n FROM sessions WHERE user_id = ?", user.user.id),
      refresh: () =>
        countOf(
          "SELECT count(*) AS n FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?)",
          user.user.id,
        ),
      emailTokens: () => countOf("SELECT count(*) AS n FROM email_tokens WHERE user_id = ?", user.user.id),
      outbox: () => countOf("SELECT count(*) AS n FROM email_outbox WHERE to_address = ?", user.email),
      invitations: () => countOf("SELECT count(*) AS n FROM invitations WHERE org_id = ?", org.id),
      failedTask: () => countOf("SELECT count(*) AS n FROM queue_tasks WHERE id = 'tsk_old'"),
    };
    expect(await ofUser.sessions()).toBe(1);
    expect(await ofUser.refresh()).toBe(2);
    expect(await ofUser.emailTokens()).toBe(1);
    expect(await ofUser.invitations()).toBe(1);
    // The outbox rows were delivered by the log provider (`logged`): only those leave.
    await expect
      .poll(() =>
        countOf("SELECT count(*) AS n FROM email_outbox WHERE status = 'queued' AND to_address = ?", user.email),
      )
      .toBe(0);

    const now = Date.now();
    // Short of every retention: nothing goes (the failed task is from 1970, long past its 30 days).
    await runCronAt(now + 6 * DAY_MS);
    expect(await ofUser.sessions()).toBe(1);
    expect(await ofUser.emailTokens()).toBe(1);
    expect(await ofUser.invitations()).toBe(1);
    expect(await ofUser.outbox()).toBeGreaterThan(0);
    expect(await ofUser.failedTask()).toBe(0);

    // Past the email tokens' 7 days after expiry (1 day): they go, the rest stays.
    await runCronAt(now + DAY_MS + RETENTION_MS.emailTokens + DAY_MS);
    expect(await ofUser.emailTokens()).toBe(0);
    expect(await ofUser.sessions()).toBe(1);

    // Past 30 days after the sign-out and the invitation's expiry, and the outbox's 30 days.
    await runCronAt(now + 7 * DAY_MS + RETENTION_MS.invitations + DAY_MS);
    expect(await ofUser.sessions()).toBe(0);
    expect(await ofUser.refresh()).toBe(0);
    expect(await ofUser.invitations()).toBe(0);
    expect(await ofUser.outbox()).toBe(0);
    // A live session elsewhere (the owner's) is untouched.
    expect(
      await countOf("SELECT count(*) AS n FROM sessions WHERE user_id = ? AND revoked_at IS NULL", owner.user.id),
    ).toBe(1);
  });

  it("keeps every token a live session rotated, so a replay long after still revokes the session", async () => {
    const user = await registerUser();
    const stolen = user.tokens.refreshToken;
    const refreshed = await api<{ refreshToken: string }>("/v1/auth/refresh", { json: { refreshToken: stolen } });
    expect(refreshed.status).toBe(200);
    // 60 days on, the session still slides (its user keeps refreshing): nothing of it goes.
    await env.DB.prepare("UPDATE sessions SET expires_at = ? WHERE user_id = ?")
      .bind(Date.now() + 90 * DAY_MS, user.user.id)
      .run();
    await runCronAt(Date.now() + 60 * DAY_MS);
    testClock.advance(60 * DAY_MS);
    const replayed = await api("/v1/auth/refresh", { json: { refreshToken: stolen } });
    expect(replayed.status).toBe(401);
    expect((replayed.body as { code: string }).code).toBe("refresh_token_reused");
    expect(
      await countOf("SELECT count(*) AS n FROM sessions WHERE user_id = ? AND revoked_at IS NOT NULL", user.user.id),
    ).toBe(1);
  });
});
