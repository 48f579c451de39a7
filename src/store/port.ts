// The storage ports are the domain's (src/domain/ports); adapters here implement them.
export type { StockSource, Store, StoreRefresh } from '../domain/ports/store.js';
