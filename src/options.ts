// Command options declared as data: each command (and each kind of data, for its own eval and
// generate options) lists what it takes, and the arguments are parsed once against that list into
// typed values, with messages that name the option and what is allowed.
import { UsageError } from './errors.js';

export type OptionType = 'int' | 'number' | 'string' | 'path' | 'flag';

export interface OptionSpec {
  readonly name: string;
  readonly type: OptionType;
  /** Numbers: the values allowed, and how to say it ('an integer ≥ 1'). */
  readonly check?: (n: number) => boolean;
  readonly allowed?: string;
  /** Strings: the values allowed. */
  readonly choices?: readonly string[];
  /** A path the command writes (a page gives it a name of its own; everything else of type path is read). */
  readonly output?: boolean;
  /** A file option: the file types it reads ('.mid,.midi'), for pickers and drops in a page. */
  readonly accept?: string;
  /** An option people try that does not apply here: giving it is refused with this message (forms leave it out). */
  readonly refused?: string;
}

/** The parsed options of one command: typed getters over validated values. */
export class Options {
  constructor(private readonly values: ReadonlyMap<string, string | number | boolean>) {}
  has(name: string): boolean { return this.values.has(name); }
  number(name: string): number | undefined { return this.values.get(name) as number | undefined; }
  string(name: string): string | undefined { return this.values.get(name) as string | undefined; }
  /** A flag: false when absent. */
  flag(name: string): boolean { return this.values.get(name) === true; }
  /** A flag with a default when absent. */
  flagOr(name: string, otherwise: boolean): boolean { return this.values.has(name) ? this.values.get(name) === true : otherwise; }
}

/** takeNumber-style check for an integer in [lo, hi]. */
export const isInt = (lo: number, hi = Infinity) => (n: number): boolean => Number.isInteger(n) && n >= lo && n <= hi;

export const intOption = (name: string, lo: number, hi = Infinity, allowed?: string): OptionSpec =>
  ({ name, type: 'int', check: isInt(lo, hi), allowed: allowed ?? (hi === Infinity ? `an integer ≥ ${lo}` : `an integer in [${lo}, ${hi}]`) });
export const numberOption = (name: string, check: (n: number) => boolean, allowed: string): OptionSpec => ({ name, type: 'number', check, allowed });
export const flagOption = (name: string): OptionSpec => ({ name, type: 'flag' });
export const pathOption = (name: string, accept?: string): OptionSpec => (accept ? { name, type: 'path', accept } : { name, type: 'path' });
/** An option refused with a message that says why and what to use instead. */
export const refusedOption = (name: string, why: string): OptionSpec => ({ name, type: 'string', refused: why });
/** A file the command writes. */
export const outputOption = (name: string): OptionSpec => ({ name, type: 'path', output: true });
export const stringOption = (name: string, choices?: readonly string[]): OptionSpec => (choices ? { name, type: 'string', choices } : { name, type: 'string' });

/** The same message parseOptions gives, for checks that depend on several options. */
export function invalidOption(name: string, value: string | number, allowed: string): never {
  throw new UsageError(`--${name}=${value} is invalid: ${allowed}`);
}

/**
 * Parses raw `--key=value` pairs against `specs`; an option no spec names is refused, listing what
 * is allowed (`what`: 'for an image eval' and the like, after the option).
 */
export function parseOptions(raw: ReadonlyMap<string, string>, specs: readonly OptionSpec[], what = ''): Options {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values = new Map<string, string | number | boolean>();
  for (const [key, v] of raw) {
    const s = byName.get(key);
    if (!s) throw new UsageError(`unknown option --${key}${what ? ` ${what}` : ''}; allowed: ${specs.filter((o) => !o.refused).map((o) => `--${o.name}`).join(' ')}`);
    if (s.refused) throw new UsageError(s.refused);
    switch (s.type) {
      case 'flag':
        if (v !== 'true' && v !== 'false') throw new UsageError(`--${key} is a flag; write --${key} or --${key}=false`);
        values.set(key, v === 'true');
        break;
      case 'path':
        if (v.trim() === '') throw new UsageError(`--${key} is empty; give a file path (--${key}=FILE)`);
        values.set(key, v);
        break;
      case 'string':
        if (s.choices && !s.choices.includes(v)) {
          invalidOption(key, v, s.choices.length === 1 ? s.choices[0]! : `${s.choices.slice(0, -1).join(', ')} or ${s.choices[s.choices.length - 1]}`);
        }
        values.set(key, v);
        break;
      default: {
        const n = Number(v);
        if (v.trim() === '' || !Number.isFinite(n) || !(s.check ?? (() => true))(n) || (s.type === 'int' && !Number.isInteger(n))) {
          invalidOption(key, v, s.allowed ?? (s.type === 'int' ? 'an integer' : 'a number'));
        }
        values.set(key, n);
      }
    }
  }
  return new Options(values);
}
