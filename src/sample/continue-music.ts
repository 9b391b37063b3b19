// Continuing music (docs/music.md): a prompt of notes or event classes, decoded with the music
// codec's mask (PAD and SOS never sampled), stopping at EOS, after maxNewTokens events or once the
// new events' time shifts add up to `seconds`; the result decoded back to notes.
import { decodePiece, encodePiece, eventSeconds, eventsToNotes, musicCodec, notesToEvents, type Note } from '../data/music.js';
import { BYTE_OFFSET, EOS } from '../data/vocab.js';
import type { PerceiverAR } from '../models/perceiver-ar/model.js';
import { generate } from './generate.js';

export interface MusicContinuation {
  readonly notes: Note[];
  /** Seconds where the prompt ends. */
  readonly promptSeconds: number;
  readonly newEvents: number;
  /** The sampled ids themselves (event class + 3, or EOS). */
  readonly newIds: Int32Array;
  readonly stoppedAtEos: boolean;
  readonly seconds: number;
}

/**
 * Continues `prompt` notes (none: from SOS) for up to `maxNewTokens` events or `seconds` of music,
 * never sampling PAD or SOS, stopping at EOS; cached decoding unless `cached` is false.
 */
export function continueMusic(model: PerceiverAR, prompt: readonly Note[], o: ContinueOptions): MusicContinuation {
  return continueEvents(model, notesToEvents(prompt).events, o);
}

export interface ContinueOptions {
  readonly maxNewTokens: number; readonly seconds: number; readonly temperature: number; readonly topK: number; readonly topP: number;
  readonly seed: number; readonly cached: boolean;
}

/** continueMusic from prompt event classes (a prompt may end inside a note, e.g. right after a NOTE_ON). */
export function continueEvents(model: PerceiverAR, promptEvents: Int32Array, o: ContinueOptions): MusicContinuation {
  const ids = Array.from(encodePiece(promptEvents).subarray(0, promptEvents.length + 1));
  const promptSeconds = eventSeconds(promptEvents), codec = musicCodec();
  let newSeconds = 0;
  const r = generate(model, ids, {
    maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed, stopAtEos: true, cached: o.cached,
    allowedTokens: codec.allowedAt,
    stopAfter: o.seconds > 0 ? (t) => { newSeconds += eventSeconds([t - BYTE_OFFSET].filter((x) => x >= 0)); return newSeconds >= o.seconds; } : undefined,
  });
  const all = decodePiece([...ids, ...r.tokens]);
  return { notes: eventsToNotes(all), promptSeconds, newEvents: r.tokens.length, newIds: r.tokens, stoppedAtEos: r.tokens[r.tokens.length - 1] === EOS, seconds: r.seconds };
}
