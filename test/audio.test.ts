// Playback in a page (src/platform/browser/audio.ts) against a recording stand-in for Web Audio:
// notes are scheduled a second ahead as time passes, at their pitch's frequency, with a peak gain
// set by velocity, and stop() silences what is playing.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { midiFrequency, playNotes, type AudioTarget } from '../src/platform/browser/audio.js';

interface Recorded { freq: number; start: number; stop: number; stoppedEarly: boolean; peak: number; ended: boolean; fire(): void }

/** A stand-in AudioContext; advance(t) moves its clock and ends (onended) the oscillators whose stop time has passed, as a browser would. */
function fakeAudio(): { audio: AudioTarget & { currentTime: number }; voices: Recorded[]; advance(t: number): void } {
  const voices: Recorded[] = [];
  const param = (onRamp?: (v: number) => void) => ({ value: 0, setValueAtTime: () => undefined, linearRampToValueAtTime: (v: number) => { onRamp?.(v); }, exponentialRampToValueAtTime: () => undefined });
  const node = { connect: () => undefined, disconnect: () => undefined };
  let peak = 0;
  const audio = {
    currentTime: 0, destination: node,
    createGain: () => ({ ...node, gain: param((v) => { if (v > 0) peak = v; }) }),
    createOscillator: () => {
      const rec: Recorded = { freq: 0, start: NaN, stop: NaN, stoppedEarly: false, peak, ended: false, fire: () => { if (!rec.ended) { rec.ended = true; osc.onended?.(); } } };
      const osc: { onended: (() => void) | null } & Record<string, unknown> = {
        ...node, type: 'sine', detune: param(), onended: null,
        frequency: { ...param(), set value(v: number) { rec.freq = v; }, get value() { return rec.freq; } },
        start: (t: number) => { rec.start = t; rec.peak = peak; voices.push(rec); },
        stop: (t?: number) => { if (t === undefined) rec.stoppedEarly = true; else rec.stop = t; },
      };
      return osc;
    },
  };
  const advance = (t: number): void => { audio.currentTime = t; for (const v of voices) if (v.stop <= t) v.fire(); };
  return { audio: audio as unknown as AudioTarget & { currentTime: number }, voices, advance };
}

describe('playing notes with Web Audio', () => {
  it('schedules a second ahead, at each pitch\'s frequency and velocity, and stops at once', async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const { audio, voices } = fakeAudio();
      const notes = [{ pitch: 69, velocity: 127, start: 0, end: 0.5 }, { pitch: 60, velocity: 64, start: 0.5, end: 1 },
        { pitch: 72, velocity: 100, start: 3, end: 4 }, { pitch: 48, velocity: 1, start: 5, end: 6 }];
      const p = playNotes(audio, notes, { volume: 0.2 });
      assert.equal(p.seconds, 6);
      // Starting at 0.1 s: the notes before 0.9 s of music are scheduled at once, two oscillators each.
      assert.equal(p.scheduled(), 2);
      assert.equal(voices.length, 4);
      assert.deepEqual([voices[0]!.freq, voices[0]!.start, voices[0]!.stop], [440, 0.1, 0.1 + 0.5 + 0.08]);
      assert.ok(Math.abs(voices[2]!.freq - 261.6256) < 1e-3 && voices[2]!.start === 0.6);
      assert.ok(Math.abs(voices[0]!.peak - 0.2) < 1e-9 && Math.abs(voices[2]!.peak - 0.2 * 64 / 127) < 1e-9, 'peak gain follows velocity');
      audio.currentTime = 2.5;
      mock.timers.tick(200);
      assert.equal(p.scheduled(), 3, 'the note at 3 s is scheduled within a second of it');
      p.stop();
      await p.ended;
      assert.ok(voices.slice(-2).every((v) => v.stoppedEarly), 'playing oscillators are stopped');
      audio.currentTime = 10;
      mock.timers.tick(1000);
      assert.equal(p.scheduled(), 3, 'nothing is scheduled after stop');
      assert.ok(Math.abs(midiFrequency(81) - 880) < 1e-9);
      // Played to its end: every note scheduled, then it stops by itself.
      const { voices: v2, audio: a2, advance } = fakeAudio();
      const q = playNotes(a2, notes);
      let ended = false;
      void q.ended.then(() => { ended = true; });
      for (let t = 0; t <= 6.4; t += 0.2) { advance(t); mock.timers.tick(200); }
      await Promise.resolve();
      assert.equal(q.scheduled(), 4);
      assert.equal(v2.length, 8);
      assert.ok(ended, 'ended after the last note\'s release');
      assert.ok(v2.every((v) => !v.stoppedEarly), 'nothing cut short');
    } finally {
      mock.timers.reset();
    }
  });
});
