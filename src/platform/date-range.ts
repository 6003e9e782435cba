import { z } from "@hono/zod-openapi";
import { clock, DAY_MS } from "./clock";
import { AppError } from "./errors";

/**
 * A report's time range from `?from&to` (ISO 8601): `from` inclusive, default 30 days before
 * `to`; `to` exclusive, default now; at most 366 days. One definition for every report.
 */

const DEFAULT_DAYS = 30;
const MAX_RANGE_DAYS = 366;

export const DateRangeFields = {
  from: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ description: `Inclusive; default ${DEFAULT_DAYS} days before \`to\`` }),
  to: z.iso.datetime({ offset: true }).optional().openapi({ description: "Exclusive; default now" }),
};

/** The range in epoch milliseconds, or 400 when it is empty or too long. */
export function dateRangeOf(query: { from?: string; to?: string }): { from: number; to: number } {
  const to = query.to ? Date.parse(query.to) : clock.now();
  const from = query.from ? Date.parse(query.from) : to - DEFAULT_DAYS * DAY_MS;
  if (from >= to) {
    throw new AppError("validation_failed", "`from` must be before `to`.", {
      errors: [{ path: "query.from", message: "must be before to" }],
    });
  }
  if (to - from > MAX_RANGE_DAYS * DAY_MS) {
    throw new AppError("validation_failed", `A range covers at most ${MAX_RANGE_DAYS} days.`, {
      errors: [{ path: "query.from", message: `at most ${MAX_RANGE_DAYS} days before to` }],
    });
  }
  return { from, to };
}
