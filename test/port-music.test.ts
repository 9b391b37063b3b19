// The PyTorch port's symbolic-music tokens (src/data/port-music.ts) against what the port's own
// encoder and decoder give (test/fixtures/port-music, made by
// scripts/interop/make-port-music-fixtures.py with the port's midi_processor.py and pretty_midi):
// token ids identical on files that exercise its quirks, notes identical after decoding.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodePortTokens, encodePortMidi, PORT_PAD } from '../src/data/port-music.js';

const FIXTURES = new URL('../../test/fixtures/port-music/', import.meta.url);
const { pieces } = JSON.parse(readFileSync(new URL('tokens.json', FIXTURES), 'utf8')) as {
  pieces: Record<string, { ids: number[]; notes: { pitch: number; velocity: number; start: number; end: number }[] }>;
};

describe('the port\'s music tokens', () => {
  for (const [name, want] of Object.entries(pieces)) {
    it(`${name}.mid: the port's ${want.ids.length} token ids, and its ${want.notes.length} notes decoded back`, () => {
      const ids = encodePortMidi(new Uint8Array(readFileSync(new URL(`${name}.mid`, FIXTURES))), `${name}.mid`);
      assert.deepEqual(ids, want.ids);
      assert.deepEqual(decodePortTokens(ids), want.notes);
    });
  }

  it('decoding reads PAD as the port does (a velocity of 128) and refuses ids outside the vocabulary', () => {
    assert.deepEqual(decodePortTokens([356 + 20, 60, 256 + 49, 128 + 60, PORT_PAD, 62, 256, 128 + 62]),
      [{ pitch: 60, velocity: 80, start: 0, end: 0.5 }, { pitch: 62, velocity: 128, start: 0.5, end: 0.51 }]);
    assert.throws(() => decodePortTokens([389]), /389 is not a token id \(0–388\)/);
  });
});
