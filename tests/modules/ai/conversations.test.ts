import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { fitToContext, type Turn, titleFrom } from "../../../src/modules/ai/conversations/history";
import { purgeOldMessages } from "../../../src/modules/ai/conversations/service";
import { estimateInputTokens } from "../../../src/modules/ai/pricing";
import { newId } from "../../../src/platform/ids";
import { eventually, fund, purchasedBalance, scenario, usageRowsOf } from "../../helpers/ai";
import { type ApiRequest, api, expectProblem } from "../../helpers/client";
import { as, bearer, type Registered, registerUser } from "../../helpers/identity";
import { createOrg, join, verified } from "../../helpers/orgs";
import { expectMatrix, roleMatrix } from "../../helpers/roles";
import { runtimeOf } from "../../helpers/runtime";

type Conversation = {
  id: string;
  title: string | null;
  model: string;
  presetId: string | null;
  createdAt: string;
  updatedAt: string;
};
type Message = {
  id: string;
  role: "user" | "assistant";
  content: string;
  model: string | null;
  status: "complete" | "incomplete" | "failed";
  createdAt: string;
};
type Page<T> = { items: T[]; nextCursor: string | null };
type Exchange = { userMessage: Message; assistantMessage: Message };

/** The messages a recorded upstream request carried. */
const sentTurns = (request: { body: Record<string, unknown> } | undefined) => (request?.body.messages ?? []) as Turn[];

const call = <T = Conversation>(path: string, request: ApiRequest = {}) => api<T>(path, request);

async function fundedUser() {
  const user = await registerUser();
  await fund(user.user.id, 10_000_000);
  return user;
}

async function startConversation(user: Registered, body: Record<string, unknown> = {}, headers = as(user)) {
  const created = await call("/v1/conversations", { json: body, headers });
  if (created.status !== 201) throw new Error(`create failed: ${created.text}`);
  return created.body;
}

const messagesOf = async (user: Registered, id: string, query = "") =>
  (await call<Page<Message>>(`/v1/conversations/${id}/messages${query}`, { headers: as(user) })).body;

const storedMessages = async (conversationId: string) =>
  (
    await env.DB.prepare("SELECT * FROM ai_messages WHERE conversation_id = ? ORDER BY created_at, id")
      .bind(conversationId)
      .all<{ role: string; content: string; status: string; model: string | null }>()
  ).results;

describe("conversations", () => {
  it("creates, reads, renames and deletes a conversation with its messages", async () => {
    const user = await fundedUser();
    const created = await call("/v1/conversations", { json: {}, headers: as(user) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^cnv_[0-9A-Z]{26}$/),
      title: null,
      model: "gpt-4o-mini",
      presetId: null,
    });
    expect(created.body.createdAt).toBe(created.body.updatedAt);
    const path = `/v1/conversations/${created.body.id}`;
    expect((await call(path, { headers: as(user) })).body).toEqual(created.body);

    const renamed = await call(path, {
      method: "PATCH",
      json: { title: "Trip plans", model: "gpt-4o" },
      headers: as(user),
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ title: "Trip plans", model: "gpt-4o" });

    await call(`${path}/messages`, { json: { content: "Hello" }, headers: as(user) });
    expect(await storedMessages(created.body.id)).toHaveLength(2);
    expect((await call(path, { method: "DELETE", headers: as(user) })).status).toBe(204);
    expectProblem(await call(path, { headers: as(user) }), 404, "not_found");
    expect(await storedMessages(created.body.id)).toHaveLength(0);
  });

  it("answers a message, stores both sides oldest first, and titles the conversation", async () => {
    const user = await fundedUser();
    const conversation = await startConversation(user);
    const question = "  What is the capital of France, and which river runs through it?  ";
    const sent = await call<Exchange>(`/v1/conversations/${conversation.id}/messages`, {
      json: { content: question },
      headers: as(user),
    });
    expect(sent.status).toBe(201);
    expect(sent.body.userMessage).toMatchObject({
      id: expect.stringMatching(/^msg_[0-9A-Z]{26}$/),
      role: "user",
      content: question,
      model: null,
      status: "complete",
    });
    expect(sent.body.assistantMessage).toMatchObject({
      role: "assistant",
      content: `Echo: ${question}`,
      model: "gpt-4o-mini",
      status: "complete",
    });
    const listed = await messagesOf(user, conversation.id);
    expect(listed).toEqual({ items: [sent.body.userMessage, sent.body.assistantMessage], nextCursor: null });

    const titled = (await call(`/v1/conversations/${conversation.id}`, { headers: as(user) })).body;
    expect(titled.title).toBe("What is the capital of France, and which river runs through…");
    expect(titled.title?.length).toBeLessThanOrEqual(60);
    expect(Date.parse(titled.updatedAt)).toBeGreaterThan(Date.parse(conversation.updatedAt));

    // The title stays; the second exchange sends the history upstream.
    const recorder = await scenario("openai");
    await call(`/v1/conversations/${conversation.id}/messages`, {
      json: { content: `And Germany? ${recorder.marker}` },
      headers: as(user),
    });
    const [request] = await recorder.requests();
    expect(sentTurns(request).map((message) => message.role)).toEqual(["user", "assistant", "user"]);
    expect((await call(`/v1/conversations/${conversation.id}`, { headers: as(user) })).body.title).toBe(titled.title);
    const [usage] = await eventually(
      () => usageRowsOf(user.user.id),
      (rows) => rows.length === 2,
    );
    expect(usage).toMatchObject({ status: "completed", model: "gpt-4o-mini" });
  });

  it("streams the chat chunks and stores the answer after the stream", async () => {
    const user = await fundedUser();
    const conversation = await startConversation(user);
    const streamed = await api(`/v1/conversations/${conversation.id}/messages`, {
      json: { content: "Stream me", stream: true },
      headers: as(user),
    });
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get("content-type")).toContain("text/event-stream");
    expect(streamed.text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    const text = streamed.text
      .split("\n")
      .filter((line) => line.startsWith("data: {"))
      .map((line) => JSON.parse(line.slice(6)) as { object: string; choices: { delta: { content?: string } }[] })
      .map((chunk) => {
        expect(chunk.object).toBe("chat.completion.chunk");
        return chunk.choices[0]?.delta.content ?? "";
      })
      .join("");
    expect(text).toBe("Echo: Stream me");
    const messages = await eventually(
      () => messagesOf(user, conversation.id),
      (page) => page.items.length === 2,
    );
    expect(messages.items.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: "user", content: "Stream me", status: "complete" },
      { role: "assistant", content: "Echo: Stream me", status: "complete" },
    ]);
    const titled = await eventually(
      async () => (await call(`/v1/conversations/${conversation.id}`, { headers: as(user) })).body,
      (body) => body.title !== null,
    );
    expect(titled.title).toBe("Stream me");
  });

  it("keeps what arrived of a stream cut short, as incomplete", async () => {
    const user = await fundedUser();
    const conversation = await startConversation(user);
    const breaking = await scenario("openai", [
      { reply: "one two three four five six seven eight", breakAfterChunks: 3 },
    ]);
    const streamed = await api(`/v1/conversations/${conversation.id}/messages`, {
      json: { content: `Go ${breaking.marker}`, stream: true },
      headers: as(user),
    });
    expect(streamed.status).toBe(200);
    expect(streamed.text).not.toContain("[DONE]");
    const messages = await eventually(
      () => messagesOf(user, conversation.id),
      (page) => page.items.length === 2,
    );
    expect(messages.items[1]).toMatchObject({
      role: "assistant",
      content: "one two thre",
      status: "incomplete",
      model: "gpt-4o-mini",
    });
  });

  it("stores a failed answer when nothing came, and charges nothing without credits", async () => {
    const user = await registerUser();
    const conversation = await startConversation(user);
    const refused = await call(`/v1/conversations/${conversation.id}/messages`, {
      json: { content: "Am I broke?" },
      headers: as(user),
    });
    expectProblem(refused, 402, "insufficient_credits");
    expect((await messagesOf(user, conversation.id)).items.map(({ role, status }) => ({ role, status }))).toEqual([
      { role: "user", status: "complete" },
      { role: "assistant", status: "failed" },
    ]);
  });

  it("sends the preset's system prompt and parameters upstream, the message's preset first", async () => {
    const user = await fundedUser();
    const preset = async (systemPrompt: string, model: string, parameters: Record<string, unknown>) =>
      (
        await api<{ id: string }>("/v1/presets", {
          json: { name: "P", category: "test", systemPrompt, model, parameters },
          headers: as(user),
        })
      ).body.id;
    const pirate = await preset("Talk like a pirate.", "gpt-4o", {
      temperature: 0.3,
      topP: 0.8,
      maxTokens: 200,
      stop: ["END"],
    });
    const poet = await preset("Answer in verse.", "gpt-4o-mini", {});
    const conversation = await startConversation(user, { presetId: pirate });
    expect(conversation).toMatchObject({ presetId: pirate, model: "gpt-4o" });

    const recorder = await scenario("openai");
    await call(`/v1/conversations/${conversation.id}/messages`, {
      json: { content: `Ahoy ${recorder.marker}` },
      headers: as(user),
    });
    await call(`/v1/conversations/${conversation.id}/messages`, {
      json: { content: "Once more", presetId: poet },
      headers: as(user),
    });
    const [first, second] = await recorder.requests();
    expect(first?.body).toMatchObject({
      model: "gpt-4o",
      messages: [
        { role: "system", content: "Talk like a pirate." },
        { role: "user", content: `Ahoy ${recorder.marker}` },
      ],
      temperature: 0.3,
      top_p: 0.8,
      max_tokens: 200,
      stop: ["END"],
    });
    expect(second?.body).toMatchObject({ model: "gpt-4o-mini" });
    expect(sentTurns(second)[0]).toEqual({ role: "system", content: "Answer in verse." });
    expect(sentTurns(second).map((message) => message.role)).toEqual(["system", "user", "assistant", "user"]);

    const detached = await call(`/v1/conversations/${conversation.id}`, {
      method: "PATCH",
      json: { presetId: null },
      headers: as(user),
    });
    expect(detached.body).toMatchObject({ presetId: null, model: "gpt-4o" });
    expectProblem(
      await call("/v1/conversations", { json: { presetId: newId("prs") }, headers: as(user) }),
      404,
      "not_found",
    );
  });

  it("hides another user's conversation: 404 everywhere", async () => {
    const owner = await fundedUser();
    const stranger = await fundedUser();
    const conversation = await startConversation(owner);
    const path = `/v1/conversations/${conversation.id}`;
    expectProblem(await call(path, { headers: as(stranger) }), 404, "not_found");
    expectProblem(
      await call(path, { method: "PATCH", json: { title: "Mine" }, headers: as(stranger) }),
      404,
      "not_found",
    );
    expectProblem(await call(path, { method: "DELETE", headers: as(stranger) }), 404, "not_found");
    expectProblem(await call(`${path}/messages`, { headers: as(stranger) }), 404, "not_found");
    expectProblem(await call(`${path}/messages`, { json: { content: "Hi" }, headers: as(stranger) }), 404, "not_found");
    expect((await call<Page<Conversation>>("/v1/conversations", { headers: as(stranger) })).body.items).toEqual([]);
    expect((await call(path, { headers: as(owner) })).body).toEqual(conversation);
    expect(await storedMessages(conversation.id)).toHaveLength(0);
    expect(await usageRowsOf(stranger.user.id)).toHaveLength(0);
  });

  it("bills an org conversation to the org, and keeps it private to its creator", async () => {
    const owner = await verified();
    const member = await verified();
    const org = await createOrg(owner);
    await join(org, owner, member, "member");
    await fund(org.id, 10_000_000);
    const inOrg = (user: Registered) => ({ ...as(user), "x-stratus-org": org.id });
    const conversation = await startConversation(member, {}, inOrg(member));
    const sent = await call<Exchange>(`/v1/conversations/${conversation.id}/messages`, {
      json: { content: "Bill the org" },
      headers: inOrg(member),
    });
    expect(sent.status).toBe(201);
    const [row] = await eventually(
      () => usageRowsOf(org.id),
      (rows) => rows.length === 1,
    );
    expect(row).toMatchObject({ status: "completed" });
    expect(await purchasedBalance(org.id)).toBe(10_000_000 - (row?.charged ?? 0));
    expect(await usageRowsOf(member.user.id)).toHaveLength(0);

    // The org's owner does not see it; nor does the member outside the org's context.
    expectProblem(await call(`/v1/conversations/${conversation.id}`, { headers: inOrg(owner) }), 404, "not_found");
    expectProblem(await call(`/v1/conversations/${conversation.id}`, { headers: as(member) }), 404, "not_found");
    const listed = await call<Page<Conversation>>("/v1/conversations", { headers: inOrg(member) });
    expect(listed.body.items.map((item) => item.id)).toEqual([conversation.id]);
    expect((await call<Page<Conversation>>("/v1/conversations", { headers: as(member) })).body.items).toEqual([]);

    // Deleting the org takes its conversations, their messages and its shared presets along;
    // the member's own conversation and the org's usage rows (billing records) stay.
    const own = await startConversation(member);
    const preset = await call("/v1/presets", {
      json: { name: "Shared", category: "support", systemPrompt: "Be brief.", model: "gpt-4o-mini" },
      headers: inOrg(owner),
    });
    expect(preset.status).toBe(201);
    const count = async (sql: string) => (await env.DB.prepare(sql).bind(org.id).first<number>("n")) ?? 0;
    const orgRows = () =>
      Promise.all([
        count("SELECT count(*) AS n FROM ai_conversations WHERE account_id = ?"),
        count(
          "SELECT count(*) AS n FROM ai_messages WHERE conversation_id IN (SELECT id FROM ai_conversations WHERE account_id = ?)",
        ),
        count("SELECT count(*) AS n FROM ai_presets WHERE owner_id = ?"),
      ]);
    expect(await orgRows()).toEqual([1, 2, 1]);
    // An org whose wallet still holds purchased credits is kept (409); once they are gone, it goes.
    const deleteOrg = () => call(`/v1/orgs/${org.id}`, { method: "DELETE", headers: as(owner) });
    expectProblem(await deleteOrg(), 409, "conflict");
    await fund(org.id, -(await purchasedBalance(org.id)));
    expect((await deleteOrg()).status).toBe(204);
    expect(await orgRows()).toEqual([0, 0, 0]);
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM ai_messages WHERE conversation_id = ?")
        .bind(conversation.id)
        .first("n"),
    ).toBe(0);
    expect((await call(`/v1/conversations/${own.id}`, { headers: as(member) })).status).toBe(200);
    expect(await usageRowsOf(org.id)).toHaveLength(1);
  });

  it("keeps an org conversation to its creator, whatever the others' roles in the org", async () => {
    const cast = await roleMatrix({ scope: "ai" });
    const inOrg = { ...as(cast.member), "x-stratus-org": cast.org.id };
    const conversation = await startConversation(cast.member, {}, inOrg);
    const hidden = [404, "not_found"] as const;
    const read = await expectMatrix<Conversation>(
      cast,
      { path: `/v1/conversations/${conversation.id}` },
      // The owner's org key acts as the owner: it does not see a member's conversation either.
      {
        owner: hidden,
        admin: hidden,
        member: 200,
        outsider: hidden,
        keyWithScope: hidden,
        keyWithoutScope: [403, "forbidden"],
      },
    );
    expect(read.member.body).toEqual(conversation);
  });

  it("refuses bad input with 400 and writes nothing", async () => {
    const user = await fundedUser();
    for (const body of [{ role: "admin" }, { title: "" }, { model: "" }, { presetId: "prs_nope" }]) {
      expectProblem(await call("/v1/conversations", { json: body, headers: as(user) }), 400, "validation_failed");
    }
    expectProblem(
      await call("/v1/conversations", { json: { model: "gpt-9" }, headers: as(user) }),
      404,
      "model_not_found",
    );
    expect((await call<Page<Conversation>>("/v1/conversations", { headers: as(user) })).body.items).toEqual([]);

    const conversation = await startConversation(user);
    const path = `/v1/conversations/${conversation.id}`;
    for (const body of [{}, { title: 5 }, { owner: "x" }]) {
      expectProblem(await call(path, { method: "PATCH", json: body, headers: as(user) }), 400, "validation_failed");
    }
    for (const body of [
      {},
      { content: "" },
      { content: "x".repeat(100_001) },
      { content: "Hi", temperature: 1 },
      { content: "Hi", stream: "yes" },
    ]) {
      expectProblem(await call(`${path}/messages`, { json: body, headers: as(user) }), 400, "validation_failed");
    }
    expectProblem(await call("/v1/conversations/cnv_nope", { headers: as(user) }), 400, "validation_failed");
    expectProblem(await call("/v1/conversations?limit=101", { headers: as(user) }), 400, "validation_failed");
    expectProblem(await call(`${path}/messages?cursor=garbage`, { headers: as(user) }), 400, "validation_failed");
    expect(await storedMessages(conversation.id)).toHaveLength(0);
    expect((await call(path, { headers: as(user) })).body).toEqual(conversation);
  });

  it("pages conversations most recently active first, and messages oldest first", async () => {
    const user = await fundedUser();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await startConversation(user)).id);
    const first = await call<Page<Conversation>>("/v1/conversations?limit=2", { headers: as(user) });
    expect(first.body.items.map((item) => item.id)).toEqual([ids[2], ids[1]]);
    const second = await call<Page<Conversation>>(`/v1/conversations?limit=2&cursor=${first.body.nextCursor}`, {
      headers: as(user),
    });
    expect(second.body).toEqual({ items: [expect.objectContaining({ id: ids[0] })], nextCursor: null });

    // Activity moves a conversation to the top.
    await call(`/v1/conversations/${ids[0]}/messages`, { json: { content: "First" }, headers: as(user) });
    await call(`/v1/conversations/${ids[0]}/messages`, { json: { content: "Second" }, headers: as(user) });
    const top = await call<Page<Conversation>>("/v1/conversations?limit=1", { headers: as(user) });
    expect(top.body.items[0]?.id).toBe(ids[0]);

    const contents: string[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const page: Page<Message> = await messagesOf(
        user,
        ids[0] as string,
        `?limit=3${cursor ? `&cursor=${cursor}` : ""}`,
      );
      contents.push(...page.items.map((item) => item.content));
      cursor = page.nextCursor;
    }
    expect(contents).toEqual(["First", "Echo: First", "Second", "Echo: Second"]);
  });

  it("keeps at most 1 000 conversations per user and account: 409 past that", async () => {
    const user = await registerUser();
    const now = Date.now();
    const insert = env.DB.prepare(
      "INSERT INTO ai_conversations (id, account_id, user_id, title, model, preset_id, created_at, updated_at) VALUES (?, ?, ?, NULL, 'gpt-4o-mini', NULL, ?, ?)",
    );
    await env.DB.batch(
      Array.from({ length: 999 }, (_, i) => insert.bind(newId("cnv", now + i), user.user.id, user.user.id, now, now)),
    );
    expect((await call("/v1/conversations", { json: {}, headers: as(user) })).status).toBe(201);
    const refused = expectProblem(await call("/v1/conversations", { json: {}, headers: as(user) }), 409, "conflict");
    expect(refused.detail).toContain("1000 conversations");
  });

  it("takes API keys with the ai scope only", async () => {
    const user = await registerUser();
    expectProblem(await call("/v1/conversations"), 401, "unauthorized");
    const key = async (scopes: string[]) =>
      (await api<{ secret: string }>("/v1/api-keys", { json: { name: "chat", scopes }, headers: as(user) })).body
        .secret;
    expect((await call("/v1/conversations", { json: {}, headers: bearer(await key(["ai"])) })).status).toBe(201);
    expectProblem(await call("/v1/conversations", { headers: bearer(await key(["translate"])) }), 403, "forbidden");
  });

  it("deletes messages past AI_MESSAGE_RETENTION_DAYS and keeps the conversation", async () => {
    const user = await fundedUser();
    const conversation = await startConversation(user);
    await call(`/v1/conversations/${conversation.id}/messages`, { json: { content: "Old news" }, headers: as(user) });
    expect(await storedMessages(conversation.id)).toHaveLength(2);
    const day = 86_400_000;
    await purgeOldMessages(runtimeOf(), Date.now() + 399 * day);
    expect(await storedMessages(conversation.id)).toHaveLength(2);
    // A bounded batch per run (other tests' messages are old by then too).
    expect(await purgeOldMessages(runtimeOf(), Date.now() + 401 * day, 1)).toBe(1);
    while ((await purgeOldMessages(runtimeOf(), Date.now() + 401 * day, 50)) > 0);
    expect(await storedMessages(conversation.id)).toHaveLength(0);
    expect((await call(`/v1/conversations/${conversation.id}`, { headers: as(user) })).status).toBe(200);
  });
});

describe("fitting the history to the context window", () => {
  const turn = (role: Turn["role"], content: string): Turn => ({ role, content });
  const history = [
    turn("user", "a".repeat(30)),
    turn("assistant", "b".repeat(30)),
    turn("user", "c".repeat(30)),
    turn("assistant", "d".repeat(30)),
  ];
  const next = turn("user", "e".repeat(30));

  it("drops the oldest history first so the estimate fits the window less the answer", () => {
    // Each message is 4 + 30/3 = 14 tokens; the system prompt 4 + 1 = 5.
    const fitted = fitToContext({ system: "sys", history, next, contextWindow: 100, maxTokens: 50 });
    expect(fitted).toEqual([turn("system", "sys"), history[2], history[3], next]);
    expect(estimateInputTokens({ messages: fitted })).toBeLessThanOrEqual(50);
    const all = fitToContext({ system: null, history, next, contextWindow: 1_000, maxTokens: 50 });
    expect(all).toEqual([...history, next]);
  });

  it("keeps the new message alone when no history fits, and refuses it when it does not fit", () => {
    expect(fitToContext({ system: null, history, next, contextWindow: 40, maxTokens: 20 })).toEqual([next]);
    expect(() => fitToContext({ system: "sys", history, next, contextWindow: 30, maxTokens: 20 })).toThrow(/too long/);
  });

  it("titles by the first message, cut at a word boundary within 60 characters", () => {
    expect(titleFrom("  Short\nquestion  ")).toBe("Short question");
    const long = titleFrom("word ".repeat(30));
    expect(long).toBe(`${"word ".repeat(12).trimEnd()}…`);
    expect(long?.length).toBeLessThanOrEqual(60);
    expect(titleFrom("x".repeat(100))).toBe(`${"x".repeat(59)}…`);
    expect(titleFrom("   ")).toBeNull();
  });
});
