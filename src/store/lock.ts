import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`data dir ${dataDir} is in use by another gateway process (pid ${pid}); stop it first`);
    this.name = 'DataDirLockedError';
  }
}

const LOCK_NAME = 'gateway.lock';

function isAlive(pid: number): boolean {
  if (pid === process.pid) return false; // our own pid from a previous life (container restart)
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readPid(path: string): Promise<number | null> {
  try {
    const pid = Number.parseInt(JSON.parse(await readFile(path, 'utf8')).pid, 10);
    return Number.isInteger(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** A lock being created right now is briefly empty: look again before calling it stale. */
async function readHolder(path: string): Promise<number | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const pid = await readPid(path);
    if (pid !== null) return pid;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}

/** One process per data dir. A lock left by a dead process (crash, SIGKILL) is taken over. */
export async function acquireLock(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, LOCK_NAME);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }));
      await fh.sync();
      await fh.close();
      return async () => {
        if ((await readPid(path)) === process.pid) await unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = await readHolder(path);
      if (holder !== null && isAlive(holder)) throw new DataDirLockedError(dataDir, holder);
      await unlink(path).catch(() => undefined);
    }
  }
  throw new Error(`could not take the lock ${path}`);
}
