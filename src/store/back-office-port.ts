// The storage ports are the domain's (src/domain/ports); adapters here implement them.
export type { BackOfficeStore, ClosedDay, PresenceDoc } from '../domain/ports/back-office-store.js';
