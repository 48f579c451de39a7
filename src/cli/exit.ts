/** Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad config. */
export class ExitError extends Error {
  constructor(
    readonly exitCode: 1 | 2,
    message: string,
  ) {
    super(message);
  }
}
