// Byte ids: the reserved ids (nn/batch.ts) and byte values shifted past them.
import { EOS, PAD, SOS } from '../nn/batch.js';

export { EOS, PAD, SOS };
/** Byte (and pixel) values are offset by the three reserved ids. */
export const BYTE_OFFSET = 3;
export const BYTE_VOCAB = 256 + BYTE_OFFSET;

export const byteToId = (b: number): number => b + BYTE_OFFSET;
export const idToByte = (id: number): number => id - BYTE_OFFSET;
