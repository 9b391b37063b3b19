// Data-sized arrays never go through Math.max(...array) / Math.min(...array): a few hundred
// thousand arguments throw a RangeError (issue 21, item 3). Each case here is ≥ 200,000 long.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryFileSystem, notesToMidi, pianoRoll, readLabelledImages, readMidiCorpus } from '../src/node.js';
import { maxOf, minOf } from '../src/tensor/extent.js';

const N = 200_000;

describe('large inputs', () => {
  it('maxOf / minOf: any length, NaN propagates, a value for none', () => {
    const big = Float64Array.from({ length: 1_000_000 }, (_, i) => (i * 7919) % 1_000_003);
    assert.throws(() => Math.max(...big), RangeError, 'the spread this replaces does throw at this size');
    assert.equal(maxOf(big), big.reduce((a, b) => Math.max(a, b)));
    assert.equal(minOf(big), big.reduce((a, b) => Math.min(a, b)));
    assert.ok(Number.isNaN(maxOf([1, NaN, 3])) && Number.isNaN(minOf([1, NaN, 3])));
    assert.deepEqual([maxOf([]), minOf([]), maxOf([], 0), minOf([], 60)], [-Infinity, Infinity, 0, 60]);
  });

  it(`a piano roll of ${N} notes, and a MIDI corpus holding that piece`, () => {
    const notes = Array.from({ length: N }, (_, i) => ({ pitch: 30 + (i % 60), start: i * 0.01, end: i * 0.01 + 0.05, velocity: 80 }));
    const img = pianoRoll(notes, { maxWidth: 2000 });
    // Pitches 30…89 → rows 28…91 (2 of margin), 4 pixels each; 2,000 s squeezed into maxWidth.
    assert.ok(img.plot.width <= 2001 && img.plot.height === (91 - 28 + 1) * 4, `${img.plot.width}×${img.plot.height}`);
    const corpus = readMidiCorpus(memoryFileSystem({ 'big.mid': notesToMidi(notes) }), 'big.mid');
    assert.equal(corpus.pieces.length, 1);
    assert.match(corpus.summary, /1 pieces, \d+ events, 33\.3 minutes/, corpus.summary);
  });

  it(`${N} IDX labels (a label set that large)`, () => {
    const idxImages = (count: number): Uint8Array => {
      const b = new Uint8Array(16 + count), v = new DataView(b.buffer);
      v.setUint32(0, 2051); v.setUint32(4, count); v.setUint32(8, 1); v.setUint32(12, 1);
      return b;
    };
    const idxLabels = (count: number, top: number): Uint8Array => {
      const b = new Uint8Array(8 + count), v = new DataView(b.buffer);
      v.setUint32(0, 2049); v.setUint32(4, count);
      for (let i = 0; i < count; i++) b[8 + i] = i % (top + 1);
      return b;
    };
    const fs = memoryFileSystem({
      'd/train-images-idx3-ubyte': idxImages(N), 'd/train-labels-idx1-ubyte': idxLabels(N, 9),
      'd/t10k-images-idx3-ubyte': idxImages(10), 'd/t10k-labels-idx1-ubyte': idxLabels(10, 3),
    });
    const set = readLabelledImages(fs, 'd');
    assert.equal(set.train.labels.length, N);
    assert.equal(set.classes.length, 10);
  });
});
