import type { RequestHandler } from 'express';
import type { Account } from '../auth/accounts.js';
import type { BackOffice } from '../domain/back-office.js';
import { onResponseDone } from './response-done.js';

/** Remembers when each device was last seen (any authenticated request), for GET /registrations. */
export function presence(backOffice: BackOffice, now: () => Date): RequestHandler {
  return (_req, res, next) => {
    onResponseDone(res, () => {
      if (!res.writableFinished) return; // the connection closed before the response was sent
      const account = res.locals.account as Account | undefined;
      if (account && res.statusCode < 400) backOffice.seen(account, now());
    });
    next();
  };
}
