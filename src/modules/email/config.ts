import { z } from "zod";
import { configFragment } from "../../platform/config";

/** Email's keys: who sends, through what, and where its links point. */
export const emailConfig = configFragment({
  keys: {
    /** Where links in emails point: the app that handles verification and reset tokens. */
    APP_URL: z.url().default("http://localhost:8787"),
    EMAIL_PROVIDER: z.enum(["log", "resend"]).default("log"),
    EMAIL_FROM: z.string().min(3).max(200).default("Stratus <no-reply@localhost>"),
    RESEND_API_KEY: z.string().min(1).optional(),
    RESEND_BASE_URL: z.url().default("https://api.resend.com"),
  },
  rules: (config, complain) => {
    if (config.EMAIL_PROVIDER === "resend" && !config.RESEND_API_KEY) {
      complain("RESEND_API_KEY", "is required when EMAIL_PROVIDER is resend");
    }
  },
  production: (config) =>
    config.EMAIL_PROVIDER === "log"
      ? [{ path: "EMAIL_PROVIDER", message: "production must send email (resend), not only log it" }]
      : [],
});
