import type { TestProject } from "vitest/node";
import { startFakeUpstream } from "./fakes/upstream";

/**
 * Runs in Node before the workerd test pool starts: fakes of external HTTP APIs listen on
 * 127.0.0.1 and their URLs are handed to tests with `inject()`.
 */
export default async function setup(project: TestProject) {
  const upstream = await startFakeUpstream();
  project.provide("fakeUpstreamUrl", upstream.url);
  return () => upstream.close();
}
