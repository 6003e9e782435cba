import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { testClock } from "../../../src/platform/clock";
import { type ApiResponse, api, expectProblem, randomClientIp } from "../../helpers/client";
import { as, registerUser } from "../../helpers/identity";

beforeEach(() => testClock.freeze());
afterEach(() => testClock.reset());

const login = (email: string, password: string, ip = randomClientIp()) =>
  api("/v1/auth/login", { json: { email, password }, headers: { "cf-connecting-ip": ip } });
function statusCounts(answers: ApiResponse[]) {
  const counts: Record<number, number> = {};
  for (const { status } of answers) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}
const unknownEmail = () => `nobody-${crypto.randomUUID().slice(0, 8)}@example.com`;

describe("failed sign-ins", () => {
  it("lock an (account, IP) pair after 5 in 15 minutes, even for the right password", async () => {
    const user = await registerUser();
    const ip = randomClientIp();
    for (let i = 0; i < 5; i++) expectProblem(await login(user.email, "wrong guess", ip), 401, "invalid_credentials");
    const locked = await login(user.email, user.password, ip);
    expectProblem(locked, 429, "rate_limited");
    expect(locked.headers.get("retry-after")).toBe("180");
    // Other addresses are not locked out, and the lock eases: one try per 3 minutes.
    expect((await login(user.email, user.password)).status).toBe(200);
    testClock.advance(180_000);
    expect((await login(user.email, user.password, ip)).status).toBe(200);
  });

  it("answer the same for an email without an account", async () => {
    const email = unknownEmail();
    const ip = randomClientIp();
    for (let i = 0; i < 5; i++) expectProblem(await login(email, "wrong guess", ip), 401, "invalid_credentials");
    const locked = await login(email, "wrong guess", ip);
    expectProblem(locked, 429, "rate_limited");
    expect(locked.headers.get("retry-after")).toBe("180");
  });

  it("are counted before the password is checked, so concurrent guesses get exactly 5 tries", async () => {
    const user = await registerUser();
    const ip = randomClientIp();
    const answers = await Promise.all(Array.from({ length: 8 }, () => login(user.email, "wrong guess", ip)));
    expect(statusCounts(answers)).toEqual({ 401: 5, 429: 3 });
  });

  it("do not count when the sign-in succeeds", async () => {
    const user = await registerUser();
    const ip = randomClientIp();
    for (let i = 0; i < 8; i++) expect((await login(user.email, user.password, ip)).status).toBe(200);
    expectProblem(await login(user.email, "wrong guess", ip), 401, "invalid_credentials");
  });

  it("past 60 an hour from all addresses, slow each address to a try a minute, and never lock the owner out", async () => {
    const user = await registerUser();
    const answers = await Promise.all(Array.from({ length: 60 }, () => login(user.email, "wrong guess")));
    expect(statusCounts(answers)).toEqual({ 401: 60 });
    const attacker = randomClientIp();
    expectProblem(await login(user.email, "wrong guess", attacker), 401, "invalid_credentials");
    const slowed = await login(user.email, "another guess", attacker);
    expectProblem(slowed, 429, "rate_limited");
    expect(Number(slowed.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    // The owner, from their own address, still signs in at once.
    expect((await login(user.email, user.password)).status).toBe(200);
    testClock.advance(60_000);
    expectProblem(await login(user.email, "a third guess", attacker), 401, "invalid_credentials");
  });
});

describe("signed-in changes that ask for the current password", () => {
  it("fall under the same sign-in limits, so a stolen session cannot guess the password", async () => {
    const user = await registerUser();
    const ip = randomClientIp();
    const change = (currentPassword: string) =>
      api("/v1/me/password", {
        json: { currentPassword, newPassword: "another long passphrase" },
        headers: { ...as(user), "cf-connecting-ip": ip },
      });
    for (let i = 0; i < 5; i++) expectProblem(await change("wrong guess"), 400, "validation_failed");
    expectProblem(await change(user.password), 429, "rate_limited");
    expectProblem(await login(user.email, user.password, ip), 429, "rate_limited");
  });
});

describe("emails sent to an address", () => {
  const forgot = (email: string, ip = randomClientIp()) =>
    api("/v1/auth/password/forgot", { json: { email }, headers: { "cf-connecting-ip": ip } });
  const resend = (email: string) => api("/v1/auth/verify-email/resend", { json: { email } });

  it("are limited per target email across addresses, alike whether or not the account exists", async () => {
    const user = await registerUser();
    for (const email of [user.email, unknownEmail()]) {
      const answers = [];
      for (let i = 0; i < 6; i++) answers.push(await forgot(email));
      expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202, 202, 202, 429]);
      expect((answers[5] as ApiResponse).headers.get("retry-after")).toBe("720");
    }
    for (let i = 0; i < 5; i++) expect((await resend(user.email)).status).toBe(202);
    expectProblem(await resend(user.email), 429, "rate_limited");
  });

  it("limit registration of one email, whoever asks", async () => {
    const email = unknownEmail();
    const register = () =>
      api("/v1/auth/register", { json: { email, password: "a long and unusual passphrase", name: "Again" } });
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push((await register()).status);
    expect(answers).toEqual([201, 409, 409, 409, 409, 429]);
  });

  it("are limited per IP by the auth class: 10 a minute on the free plan", async () => {
    const ip = randomClientIp();
    const answers = await Promise.all(Array.from({ length: 11 }, () => forgot(unknownEmail(), ip)));
    expect(statusCounts(answers)).toEqual({ 202: 10, 429: 1 });
  });
});
