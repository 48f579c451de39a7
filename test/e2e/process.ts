import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const BUILT_CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** `src`: the TypeScript sources through tsx (tests, no build step); `dist`: the built CLI as `npm start` runs it. */
export type CliBuild = 'src' | 'dist';

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
}

/** Runs the real CLI (through tsx) as a child process; resolves once it logs its URL. */
export function spawnCli(
  args: string[],
  env: Record<string, string> = {},
  build: CliBuild = 'src',
): { child: ChildProcess; output(): string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, build === 'dist' ? [BUILT_CLI, ...args] : ['--import', 'tsx', CLI, ...args], {
    // DATABASE_URL of the machine running the tests must not move these gateways to PostgreSQL;
    // KITCHEN_PORT=off: gateways started from config.example.json in parallel must not all take TCP 8090.
    env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'info', DATABASE_URL: '', KITCHEN_PORT: 'off', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

export async function startGatewayProcess(configPath: string, env: Record<string, string> = {}, build: CliBuild = 'src'): Promise<GatewayProcess> {
  const proc = spawnCli(['serve', '--config', configPath], env, build);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${proc.output()}`)), 20_000);
    const check = () => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(proc.output());
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.child.stdout!.on('data', check);
    proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${proc.output()}`));
    });
  });
  return { ...proc, url };
}
