import { defineConfig } from "drizzle-kit";

/** `npm run db:generate` writes SQL migrations from the drizzle tables for `wrangler d1 migrations apply`. */
export default defineConfig({
  dialect: "sqlite",
  schema: ["./src/modules/**/tables.ts", "./src/platform/**/tables.ts"],
  out: "./migrations",
});
