// CPU time of the workerd processes `npm run bench` serves on, for "CPU ms per request".
// Miniflare spawns one `workerd` child process per instance (per serveBundle() call); on this
// machine each runs its requests on one thread, so its throughput is about 1000 ÷ CPU ms. A
// server's pid is the workerd that appears when it is served (servers are started one by one).

import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** Clock ticks per second, the unit of utime and stime in /proc/<pid>/stat. */
export const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** pid, command name, parent pid and utime + stime (ticks) of one process; null once it is gone. */
function statOf(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name is in parentheses and may itself hold spaces or parentheses.
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  const fields = text.slice(close + 2).split(" ");
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return {
    pid: Number(pid),
    comm: text.slice(open + 1, close),
    ppid: Number(fields[1]),
    ticks: Number(fields[11]) + Number(fields[12]),
  };
}

/** The pids of the workerd processes descended from this Node process. */
export function workerdPids() {
  const stats = readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(statOf)
    .filter((stat) => stat !== null);
  const parentOf = new Map(stats.map((stat) => [stat.pid, stat.ppid]));
  const descends = (pid) => {
    for (let parent = parentOf.get(pid); parent !== undefined && parent > 1; parent = parentOf.get(parent))
      if (parent === process.pid) return true;
    return false;
  };
  return new Set(stats.filter((stat) => stat.comm === "workerd" && descends(stat.pid)).map((stat) => stat.pid));
}

/** Starts a server with `start()` and returns it with the pid of the one workerd it spawned. */
export async function withWorkerdPid(start) {
  const before = workerdPids();
  const server = await start();
  const spawned = [...workerdPids()].filter((pid) => !before.has(pid));
  if (spawned.length !== 1) throw new Error(`expected one new workerd process, found ${spawned.length}`);
  return { ...server, pid: spawned[0] };
}

/** utime + stime of `pid` so far, in ms. */
export function cpuMs(pid) {
  const stat = statOf(pid);
  if (stat === null) throw new Error(`workerd ${pid} is gone`);
  return (stat.ticks * 1000) / CLK_TCK;
}

/**
 * Runs `load()` (whose result has `requests`, the number completed) and measures `pid`'s CPU
 * over a window of the load plus `drainMs` after it ends, so that work the requests leave
 * behind (the wallet's alarm shipping its outbox, the copy consumer, limiter alarms) is
 * counted. Also the CPU of the drain alone and of its last second (about 0 when it was long
 * enough). The sample gains `cpu`: { msPerRequest, drainMsPerRequest, tailMs, windowMs, loadMs }.
 */
export async function withCpu(pid, load, { drainMs }) {
  const started = performance.now();
  const before = cpuMs(pid);
  const sample = await load();
  const loadEnded = performance.now();
  const atLoadEnd = cpuMs(pid);
  const tail = Math.min(1000, drainMs);
  await sleep(drainMs - tail);
  const atTail = cpuMs(pid);
  await sleep(tail);
  const after = cpuMs(pid);
  const ended = performance.now();
  return {
    ...sample,
    cpu: {
      msPerRequest: (after - before) / sample.requests,
      drainMsPerRequest: (after - atLoadEnd) / sample.requests,
      tailMs: after - atTail,
      windowMs: ended - started,
      loadMs: loadEnded - started,
    },
  };
}

/** `pid`'s CPU with no load, in ms per second, over `ms`: the background the windows also hold. */
export async function idleCpu(pid, ms) {
  const before = cpuMs(pid);
  await sleep(ms);
  return ((cpuMs(pid) - before) * 1000) / ms;
}
