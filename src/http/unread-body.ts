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

/**
 * Before a body parser on a route read before anyone is authenticated: a body declared larger
 * than `limitBytes` is refused at once (413), so boundUnreadBody bounds what is read of it.
 * body-parser would first read it to its end, however long, and only then answer.
 */
export function refuseOversizedBody(limitBytes: number): RequestHandler {
  return (req, _res, next) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limitBytes) return next(Object.assign(new Error('request entity too large'), { type: 'entity.too.large', status: 413 }));
    next();
  };
}
