// The storage ports are the domain's (src/domain/ports); adapters here implement them.
export type { StockSource, Store } from '../domain/ports/store.js';
