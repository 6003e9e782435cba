import { z } from "zod";
import type { FieldError } from "./errors";
import { LOG_LEVELS } from "./logger";

/**
 * Configuration, by owner: the platform's keys here, each module's in its `config.ts` (exported
 * through its `api.ts`), merged by `src/env.ts` into the one schema the Worker parses once per
 * `env`. A fragment carries its keys, the rules between its own keys, and what production
 * refuses of them; rules between two modules' keys live where they are merged.
 */

/** Every value in `.dev.vars.example` carries it, so a copied development key cannot ship. */
export const DEV_VALUE_PREFIX = "dev-only-";

/** Reports a problem with one key (never its value). */
export type Complain = (key: string, message: string) => void;

export type ConfigFragment<Keys extends z.ZodRawShape> = {
  keys: Keys;
  /** Rules between this fragment's own keys. */
  rules?: (config: z.output<z.ZodObject<Keys>>, complain: Complain) => void;
  /** What production refuses though development accepts it. */
  production?: (config: z.output<z.ZodObject<Keys>>) => FieldError[];
};

/** Declares a fragment, keeping its key types for the merged `Config`. */
export const configFragment = <Keys extends z.ZodRawShape>(fragment: ConfigFragment<Keys>) => fragment;

/** An origin like https://app.example.com (scheme, host, port; nothing else). */
const origin = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value;
    } catch {
      return false;
    }
  }, "must be a comma-separated list of origins like https://app.example.com");

/** A comma-separated list, empty by default, each item checked by `item`. */
export const commaList = <T extends z.ZodType<unknown, string>>(item: T, fallback = "") =>
  z
    .string()
    .default(fallback)
    .transform((value) =>
      value
        .split(",")
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item));

/** A comma-separated list of origins. */
export const originList = () => commaList(origin);

/** A JSON-encoded value, parsed then checked; messages never echo the value. */
export const json = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((value, ctx) => {
      try {
        return JSON.parse(value) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "must be JSON" });
        return z.NEVER;
      }
    })
    .pipe(schema);

const binding = <T>(what: string) =>
  z.custom<T>((value) => typeof value === "object" && value !== null, `the ${what} binding is missing`);

/** Origins that must be https in production. */
export const httpsOnly = (key: string, origins: readonly string[], message: string): FieldError[] =>
  origins.some((entry) => !entry.startsWith("https://")) ? [{ path: key, message }] : [];

/** The platform's own keys: the deployment, logging, browser origins, and the bindings. */
export const platformConfig = configFragment({
  keys: {
    ENVIRONMENT: z.enum(["development", "test", "production"]),
    LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
    /** The I/O counts in `Server-Timing` (`src/middleware/io-count.ts`): on outside production unless `off` (the bench measures without them). */
    IO_COUNT: z.enum(["on", "off"]).optional(),
    CORS_ORIGINS: originList(),
    DB: binding<D1Database>("D1"),
    CACHE: binding<KVNamespace>("KV"),
    FILES: binding<R2Bucket>("R2"),
    JOBS: binding<Queue>("Queue"),
    RATE_LIMITER: binding<DurableObjectNamespace>("Durable Object"),
  },
  production: (config) => httpsOnly("CORS_ORIGINS", config.CORS_ORIGINS, "production origins must use https"),
});
