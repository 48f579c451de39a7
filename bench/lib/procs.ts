import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Resident set size of the server process now, in bytes (from /proc). */
  rss(): number;
  /** SIGTERM, then wait for the exit (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

/**
 * Starts a server as a child process whose output goes to `logFile`, and resolves with the
 * first `"url":"http://…"` it logs. The bench and the server never share an event loop.
 */
export async function startServerProcess(args: string[], logFile: string, env: Record<string, string> = {}, urlTimeoutSeconds = 60): Promise<ServerProcess> {
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, NODE_ENV: 'production', ...env },
  });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await waitForUrl(logFile, exited, urlTimeoutSeconds);
  return {
    child,
    url,
    rss: () => rssOf(child.pid!),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The gateway as a user runs it (`npm start` runs dist/cli.js). */
export function startGateway(configPath: string, logFile: string, nodeFlags: string[] = [], urlTimeoutSeconds = 60): Promise<ServerProcess> {
  return startServerProcess([...nodeFlags, join(ROOT, 'dist/cli.js'), 'serve', '--config', configPath], logFile, {}, urlTimeoutSeconds);
}

/** A baseline server from bench/baseline, run through tsx. */
export function startBaseline(script: string, logFile: string, env: Record<string, string>): Promise<ServerProcess> {
  return startServerProcess(['--import', 'tsx', join(ROOT, 'bench/baseline', script)], logFile, env);
}

async function waitForUrl(logFile: string, exited: Promise<number | null>, timeoutSeconds: number): Promise<string> {
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code ?? -1));
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    const text = await readFile(logFile, 'utf8').catch(() => '');
    const m = /"url":"(http:\/\/[^"]+)"/.exec(text);
    if (m) return m[1];
    if (exitCode !== undefined) throw new Error(`server exited with ${exitCode}:\n${text.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server did not log its URL within ${timeoutSeconds} s (see ${logFile})`);
}

function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}
