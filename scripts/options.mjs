// --key=value options of the experiment scripts: unknown keys and other forms exit with status 2.
export function parseOptions(argv, allowed) {
  const opts = {};
  for (const a of argv) {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    if (!m) { console.error(`unrecognised argument ${a} (use --key=value)`); process.exit(2); }
    if (!allowed.includes(m[1])) { console.error(`unknown option --${m[1]}; allowed: ${allowed.join(', ')}`); process.exit(2); }
    opts[m[1]] = m[2];
  }
  return opts;
}
