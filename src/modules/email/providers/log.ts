import type { EmailProvider } from "./types";

/** Development: nothing leaves the Worker; the message stays in the outbox (GET /v1/dev/outbox). */
export const logProvider: EmailProvider = {
  send: async () => ({ status: "logged", providerMessageId: null }),
};
