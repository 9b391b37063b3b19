// The process the command line runs in (Node): its arguments, output streams and exit code, so the
// CLI modules themselves stay free of `process`.
export const terminal = {
  argv: (): string[] => process.argv.slice(2),
  out: (text: string): void => { process.stdout.write(text); },
  err: (text: string): void => { process.stderr.write(text); },
  errIsTTY: (): boolean => process.stderr.isTTY === true,
  setExitCode: (code: number): void => { process.exitCode = code; },
};
