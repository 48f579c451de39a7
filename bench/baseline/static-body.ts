/**
 * Baseline for `GET stock`: bare Express 5 answering with a body serialised in advance (the
 * same bytes the gateway serves), gzipped in advance for clients that ask. No auth, no logging.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import express from 'express';

const body = readFileSync(process.env.BENCH_BODY_FILE!);
const gzipped = gzipSync(body);
const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.get('/stock', (req, res) => {
  res.set('Content-Type', 'application/json');
  if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    res.set('Content-Encoding', 'gzip');
    res.end(gzipped);
  } else {
    res.end(body);
  }
});
const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
