// The storage ports are the domain's (src/domain/ports); adapters here implement them.
export type { OutboxStorage } from '../domain/ports/outbox-storage.js';
