// The records are the domain's (src/domain/ports/records.ts); kept here for the adapters' imports.
export * from '../domain/ports/records.js';
