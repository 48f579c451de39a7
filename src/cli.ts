#!/usr/bin/env node
// Before anything else is even parsed (the modules behind the CLI are ~10 MB of source to compile):
// the young generation stays small while the gateway loads (src/cli/heap-policy.ts).
import { holdYoungGeneration } from './cli/heap-policy.js';

holdYoungGeneration();
await import('./cli/program.js');
