import type { ServerResponse } from 'node:http';

const HOOKS = Symbol('responseDone');

type WithHooks = ServerResponse & { [HOOKS]?: (() => void)[] };

/**
 * Runs `fn` once the response has finished, or once the connection closed before it did
 * (check res.writableFinished). Every hook of a response shares one 'finish'/'close' listener
 * pair, registered by the first: request logging, metrics and presence each run on every request.
 */
export function onResponseDone(res: ServerResponse, fn: () => void): void {
  const r = res as WithHooks;
  let hooks = r[HOOKS];
  if (!hooks) {
    const list: (() => void)[] = (hooks = r[HOOKS] = []);
    const done = () => {
      res.removeListener('finish', done);
      res.removeListener('close', done);
      for (const hook of list) hook();
    };
    res.on('finish', done);
    res.on('close', done);
  }
  hooks.push(fn);
}
