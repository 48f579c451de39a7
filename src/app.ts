import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import { randomUUID } from 'node:crypto';
import { apiRouter } from './api/routes.js';
import type { Gateway } from './gateway.js';
import { jsonErrorHandler, jsonNotFound, normalisePath } from './http/error-handler.js';
import { opsRouter } from './ops/routes.js';
import { tabshopRouter } from './tabshop/routes.js';
import { AppError } from './errors.js';

export type AppDeps = Gateway;

/** Builds the HTTP app over an opened gateway. Never listens: the CLI owns the process. */
export function createApp(deps: AppDeps): Express {
  const { config } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', false);
  app.use(normalisePath);
  app.use(pinoHttp({
    logger: deps.logger,
    genReqId: (req, res) => {
      const id = (req.headers['x-request-id'] as string | undefined)?.slice(0, 64) || randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customProps: (_req, res) => {
      const account = (res as express.Response).locals?.account;
      return account ? { device: account.username, cashRegister: account.cashRegister } : {};
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    serializers: {
      req: (req) => ({ id: req.id, method: req.method, url: req.url, remoteAddress: req.remoteAddress }),
      res: (res) => ({ statusCode: res.statusCode }),
    },
  }));
  app.use(opsRouter(deps));
  app.use(config.tabshop.basePath, tabshopRouter({ ...deps, bodyLimit: config.server.bodyLimit, legacy: config.tabshop.legacy }));
  app.use(config.api.basePath, apiRouter({
    ...deps,
    bodyLimit: config.server.bodyLimit,
    assertWritable: () => {
      if (config.upstream) throw new AppError('bridge_mode_read_only', 'articles are owned by the upstream server in bridge mode; change them there');
    },
  }));
  app.use(jsonNotFound);
  app.use(jsonErrorHandler);
  return app;
}
