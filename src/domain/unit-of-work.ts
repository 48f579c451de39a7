import { AsyncLocalStorage } from 'node:async_hooks';
import { NotDurableError, type Durability, type UnitOfWork } from './ports/unit-of-work.js';

interface Scope {
  /** The unit of work whose transact opened it (a deployment runs one per shop). */
  owner: StoreUnitOfWork;
  /** False once the outermost work has settled: a transact still running then (work it left behind) commits for itself. */
  open: boolean;
}

/**
 * One for every unit of work of the process: on Node 20 each AsyncLocalStorage in use adds work to
 * every promise created anywhere, so one per shop would make every request slower as shops are added.
 */
const scopes = new AsyncLocalStorage<Scope>();

/**
 * The unit of work over the store's commit: on lowdb its group commit, on PostgreSQL its commit
 * queue's round. Concurrent units share rounds (32 pushes at once are not 32 fsyncs one after
 * another), because each outermost transact only awaits the store's next round once its work is
 * done. Work that throws is not waited for: the domain refuses a change before it makes it.
 */
export class StoreUnitOfWork implements UnitOfWork {
  constructor(private readonly store: Durability) {}

  async transact<T>(work: () => Promise<T>): Promise<T> {
    const outer = scopes.getStore();
    if (outer?.owner === this && outer.open) {
      const result = await work();
      if (!outer.open) await this.durable();
      return result;
    }
    // Shared by several processes (PostgreSQL): the unit runs under the write lease, on caches
    // brought up to date with what the others wrote; the lease is held until the unit is durable.
    let done: (() => void) | undefined;
    try {
      done = await this.store.beginWrite?.();
    } catch (err) {
      throw new NotDurableError(err);
    }
    try {
      // After a failed commit, what it left is written first: a store that still cannot write refuses
      // this work before it changes anything (a 503 then means "not done", not "done once it is back").
      if (this.store.lastCommitFailed) await this.durable();
      const scope: Scope = { owner: this, open: true };
      let result: T;
      try {
        result = await scopes.run(scope, work);
      } finally {
        scope.open = false;
      }
      await this.durable();
      return result;
    } finally {
      done?.();
    }
  }

  async durable(): Promise<void> {
    try {
      await this.store.commit();
    } catch (err) {
      throw new NotDurableError(err);
    }
  }
}
