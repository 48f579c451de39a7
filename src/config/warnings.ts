import { redactUrl } from '../ops/safe-target.js';
import type { Config } from './types.js';

export const MIN_PASSWORD_CHARS = 8;
export const MIN_WEBHOOK_SECRET_CHARS = 16;

export interface ConfigWarning {
  message: string;
  fields: Record<string, unknown>;
}

/**
 * What a config that starts may still get wrong about secrets: plaintext passwords (one warning
 * naming every such account), short passwords, short webhook secrets. Never quotes a secret.
 */
export function configWarnings(config: Config): ConfigWarning[] {
  const accounts = [...config.devices, ...config.admins];
  const warnings: ConfigWarning[] = [];
  const plain = accounts.filter((a) => !a.passwordHash && a.password !== undefined).map((a) => a.username);
  if (plain.length > 0) {
    warnings.push({
      message: `plaintext passwords in the config for ${plain.join(', ')}: store a passwordHash instead (tabshop-gateway hash-password)`,
      fields: { accounts: plain },
    });
  }
  for (const a of accounts) {
    if (!a.passwordHash && a.password !== undefined && a.password.length < MIN_PASSWORD_CHARS) {
      warnings.push({ message: `the password of ${a.username} is shorter than ${MIN_PASSWORD_CHARS} characters`, fields: { account: a.username } });
    }
  }
  for (const hook of config.webhooks) {
    if (hook.secret.length < MIN_WEBHOOK_SECRET_CHARS) {
      const webhook = redactUrl(hook.url);
      warnings.push({ message: `the secret of webhook ${webhook} is shorter than ${MIN_WEBHOOK_SECRET_CHARS} characters`, fields: { webhook } });
    }
  }
  return warnings;
}
