import type { Config } from "../../../env";

type OutgoingEmail = { id: string; from: string; to: string; subject: string; text: string; html: string };

/** What a provider did with a message: accepted it for delivery, or only recorded it. */
export type Delivery = { status: "sent" | "logged"; providerMessageId: string | null };

/** One small interface per capability (ARCHITECTURE.md): an email provider sends one message. */
export type EmailProvider = {
  send(config: Config, message: OutgoingEmail): Promise<Delivery>;
};
