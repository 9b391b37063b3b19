// Errors that describe a problem with what the user gave — an option, a config value, a file —
// rather than a bug. Front ends (the CLI) report them as one line, without a stack trace.

/** A problem with the user's input; the message names the option or file and says what is allowed. */
export class InputError extends Error {
  override get name(): string { return this.constructor.name; }
}

/** A data file that cannot be used as training or evaluation data. */
export class DataError extends InputError {}
