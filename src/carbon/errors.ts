/**
 * A usage error in carbon options (unknown region, PUE below 1, bad file):
 * the CLI prints the message and exits 2.
 */
export class CarbonUsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "CarbonUsageError";
  }
}
