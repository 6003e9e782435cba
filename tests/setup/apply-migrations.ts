import { applyD1Migrations, env } from "cloudflare:test";
import { wireModules } from "../../src/modules";

// Storage is isolated per test file; each file starts from the migrated, empty schema.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
// Tests call services directly too, before any request has made the Worker's app.
wireModules();
