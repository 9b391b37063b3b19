/** Reserved ids (spec §2): PAD has no position; sequences are [SOS, x1 … xT, EOS]. */
export const PAD = 0;
export const EOS = 1;
export const SOS = 2;
/** Byte (and pixel) values are offset by the three reserved ids. */
export const BYTE_OFFSET = 3;
export const BYTE_VOCAB = 256 + BYTE_OFFSET;

export const byteToId = (b: number): number => b + BYTE_OFFSET;
export const idToByte = (id: number): number => id - BYTE_OFFSET;
