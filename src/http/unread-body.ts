import type { RequestHandler } from 'express';

/** How much of a body left unread by an early answer (401, 404, 413…) is still read and dropped, so the client sees the answer before the connection is cut. */
export const UNREAD_BODY_DRAIN_BYTES = 256 * 1024;

/**
 * Node reads and drops the rest of every request body a handler did not read, however long it
 * is: an unauthenticated sender of gigabytes kept the gateway busy reading them (issue 18,
 * item 2). After an answer, at most UNREAD_BODY_DRAIN_BYTES more are read, then the connection is closed.
 */
export const boundUnreadBody: RequestHandler = (req, res, next) => {
  // 'prefinish', before Node's own 'finish' handler dumps the body: a dumped body is dropped
  // below the stream (no 'data' events to count), so it could not be bounded from here.
  res.once('prefinish', () => {
    if (req.complete) return;
    let discarded = 0;
    req.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > UNREAD_BODY_DRAIN_BYTES) req.socket.destroy();
    });
    req.resume();
  });
  next();
};
