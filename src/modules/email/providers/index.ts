import { logProvider } from "./log";
import { resendProvider } from "./resend";
import type { EmailProvider } from "./types";

export const emailProviders: Record<"log" | "resend", EmailProvider> = { log: logProvider, resend: resendProvider };
