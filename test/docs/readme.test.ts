import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { openGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { removeDir } from '../helpers.js';
import { matchesDocumented, programsOf, readmeBlocks, RUNNABLE, type DocCommand } from './readme-blocks.js';

/**
 * The doc test (issue 18 item 12): every command block of the README, run as written and in order
 * against a fresh demo gateway (config.example.json, demo catalogue, temp data dir, an ephemeral
 * 127.0.0.1 port in place of 127.0.0.1:8080), each documented output compared. The convention is
 * in readme-blocks.ts and the README's Development section.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = join(ROOT, 'README.md');
const DOCUMENTED_ADDRESS = '127.0.0.1:8080';
const hasTools = spawnSync('bash', ['-c', 'command -v curl'], { stdio: 'ignore' }).status === 0;

describe('README', () => {
  it('marks every block it does not run with a reason, and runs the curl examples', async () => {
    const blocks = readmeBlocks(await readFile(README, 'utf8'));
    const run = blocks.filter((b) => !b.skip);
    expect(run.length).toBeGreaterThanOrEqual(3);
    expect(run.flatMap((b) => b.commands).filter((c) => c.expected !== undefined).length).toBeGreaterThanOrEqual(10);
    for (const b of blocks) if (b.skip !== undefined) expect(b.skip.trim(), `README.md:${b.line}`).not.toBe('');
  });

  it('runs nothing but curl, printf, echo and cat: other blocks are marked <!-- doctest: skip (why) -->', async () => {
    const unrunnable = readmeBlocks(await readFile(README, 'utf8'))
      .filter((b) => !b.skip)
      .flatMap((b) => b.commands)
      .flatMap((c) =>
        programsOf(c.command)
          .filter((p) => !RUNNABLE.has(p))
          .map((p) => `README.md:${c.line}: ${p}`),
      );
    expect(unrunnable).toEqual([]);
  });
});

describe.runIf(hasTools || process.env.CI === 'true')('README command blocks on the demo gateway', { timeout: 120_000 }, () => {
  let dir: string;
  let running: RunningServer;
  let address: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsg-readme-'));
    const { config } = loadConfig({ file: join(ROOT, 'config.example.json'), cwd: ROOT, env: { DATA_DIR: join(dir, 'data'), PORT: '0' } });
    const sink = new Writable({
      write(_c, _e, cb) {
        cb();
      },
    });
    const gateway = await openGateway(config, createLogger('silent', sink));
    running = await startServer(gateway, '127.0.0.1', 0);
    address = new URL(running.url).host;
  });
  afterAll(async () => {
    await running?.stop(1000);
    if (dir) await removeDir(dir);
  });

  it('run as written, in order, and print what the README says', async () => {
    const commands: DocCommand[] = readmeBlocks(await readFile(README, 'utf8'))
      .filter((b) => !b.skip)
      .flatMap((b) => b.commands);
    // Nothing else is started, installed or fetched (see the test above).
    expect(commands.flatMap((c) => programsOf(c.command)).filter((p) => !RUNNABLE.has(p))).toEqual([]);
    const work = join(dir, 'work');
    const out = join(dir, 'out');
    await mkdir(work, { recursive: true });
    await mkdir(out, { recursive: true });
    await writeFile(join(work, '.curlrc'), '--silent\n--show-error\n--fail-with-body\n');
    const script = commands
      .map((c, i) => `{ ${c.command.split(DOCUMENTED_ADDRESS).join(address)}\n} >"${out}/${i}.out" 2>"${out}/${i}.err" </dev/null; echo $? >"${out}/${i}.rc"`)
      .join('\n');
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('bash', ['-c', script], {
        cwd: work,
        env: { PATH: process.env.PATH ?? '', HOME: work, CURL_HOME: work, LC_ALL: 'C.UTF-8' },
        stdio: 'ignore',
      });
      child.on('close', resolve);
    });
    expect(code).toBe(0);

    const problems: string[] = [];
    for (const [i, c] of commands.entries()) {
      const where = `README.md:${c.line}: ${c.command.split('\n')[0].slice(0, 100)}`;
      const rc = (await readFile(join(out, `${i}.rc`), 'utf8').catch(() => 'not run')).trim();
      const stdout = await readFile(join(out, `${i}.out`), 'utf8').catch(() => '');
      const stderr = await readFile(join(out, `${i}.err`), 'utf8').catch(() => '');
      if (rc !== '0') problems.push(`${where}\n  exit ${rc}: ${stderr.trim()} ${stdout.trim()}`.slice(0, 600));
      else if (c.expected !== undefined && !matchesDocumented(stdout, c.expected)) {
        problems.push(`${where}\n  documented: ${c.expected}\n  printed:    ${stdout.replace(/\r\n/g, '\n').trimEnd()}`.slice(0, 1500));
      }
    }
    expect(problems, problems.join('\n\n')).toEqual([]);
  });
});
