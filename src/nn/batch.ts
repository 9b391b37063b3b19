// What every sequence model takes: a batch of id rows with their positions and targets, and the
// reserved ids (spec §2) the models and the data agree on. It lives below both, so models never
// import data code.

/** Reserved ids (spec §2): PAD has no position; sequences are [SOS, x1 … xT, EOS]. */
export const PAD = 0;
export const EOS = 1;
export const SOS = 2;

/** A batch of B rows of M inputs (right-padded with PAD) and the token after each input. */
export interface Batch {
  readonly batchSize: number;
  readonly length: number;
  /** [B, M] input ids; PAD only after a row's valid prefix. */
  readonly tokens: Int32Array;
  /**
   * [B, M] the event index: each input's 1-based place in its sequence (or document), strictly
   * increasing over a row's valid inputs; 0 for PAD. The causal order: masks, latent placement,
   * rotary and the decoding caches use it, and absolute tables with positionDims 1 embed it.
   */
  readonly positions: Int32Array;
  /**
   * [B, M, coordinateDims] per-input coordinates (e.g. x, y, channel of an image subpixel; 0 for
   * PAD), for models whose absolute tables are one per coordinate (positionDims > 1). They feed
   * only those embeddings, never the masks: a coordinate repeats and goes back down.
   */
  readonly coordinates?: Int32Array;
  readonly coordinateDims?: number;
  /** [B, M] the target after input j (PAD where there is none: not scored). */
  readonly targets: Int32Array;
}

