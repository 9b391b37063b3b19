// Errors that describe a problem with what the user gave — an option, a config value, a file —
// rather than a bug. Front ends (the CLI) report them as one line, without a stack trace.

/** A problem with the user's input; the message names the option or file and says what is allowed. */
export class InputError extends Error {
  override get name(): string { return this.constructor.name; }
}

/** A data file that cannot be used as training or evaluation data. */
export class DataError extends InputError {}

/** A config validation failure: one line for one problem, a list for several. */
export function invalidConfig(what: string, problems: readonly string[]): RangeError {
  return new RangeError(problems.length === 1 ? `invalid ${what}: ${problems[0]}` : `invalid ${what}:\n  ${problems.join('\n  ')}`);
}

/** A bad command or option (the message names the option and what is allowed); the CLI exits with 2. */
export class UsageError extends InputError {}
