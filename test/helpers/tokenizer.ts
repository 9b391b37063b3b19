// A small byte-level BPE tokenizer trained on a text, written in the Hugging Face tokenizer.json
// format (ByteLevel pre-tokenizer and decoder, a BPE model with its merges): what GPT-2-style
// published models ship, made here so tests need no download.

/** GPT-2's reversible map of the 256 byte values to printable characters. */
function bytesToUnicode(): string[] {
  const keep = [...Array(256).keys()].filter((b) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255));
  const out = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + extra++);
  return out;
}

/** GPT-2's pre-tokenization pattern (what the ByteLevel pre-tokenizer with use_regex applies). */
const WORDS = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** A tokenizer.json object with 256 byte tokens and up to `merges` learned merges. */
export function trainByteLevelBpe(text: string, merges: number): Record<string, unknown> {
  const b2u = bytesToUnicode(), enc = new TextEncoder();
  const counts = new Map<string, number>();
  for (const w of text.match(WORDS) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  let words = [...counts].map(([w, n]) => ({ symbols: Array.from(enc.encode(w), (b) => b2u[b]!), n }));
  const vocab: Record<string, number> = {};
  b2u.forEach((c, i) => { vocab[c] = i; });
  const learned: string[] = [];
  for (let m = 0; m < merges; m++) {
    const pairs = new Map<string, number>();
    for (const { symbols, n } of words) for (let i = 0; i + 1 < symbols.length; i++) { const k = `${symbols[i]} ${symbols[i + 1]}`; pairs.set(k, (pairs.get(k) ?? 0) + n); }
    let best = '', bestN = 1;
    for (const [k, n] of pairs) if (n > bestN || (n === bestN && best !== '' && k < best)) { best = k; bestN = n; }
    if (best === '') break;
    const [a, b] = best.split(' ') as [string, string];
    learned.push(best);
    vocab[a + b] = Object.keys(vocab).length;
    words = words.map(({ symbols, n }) => {
      const out: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) { out.push(a + b); i++; } else out.push(symbols[i]!);
      }
      return { symbols: out, n };
    });
  }
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null, pre_tokenizer: byteLevel, post_processor: null, decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false,
      vocab, merges: learned },
  };
}
