// A modality's codec: what training, evaluation, generation and the CLI need to know about a kind
// of data without branching on it — its vocabulary, the coordinates each event carries beside its
// event index (for absolute coordinate tables), and which ids may be sampled where.

export interface Codec {
  /** The data kind ('images', …) and a short description of its shape. */
  readonly kind: string;
  readonly description: string;
  readonly vocabSize: number;
  /** Coordinates per event (0: the event index alone, as for byte streams). */
  readonly coordinateDims: number;
  /** The largest coordinate value (coordinate tables need maxPosition ≥ it). */
  readonly maxCoordinate: number;
  /** Events in one whole example ([SOS, …]), or null for unbounded streams. */
  readonly sequenceLength: number | null;
  /** Coordinates of the event at a 1-based position. */
  coordinates(position: number): readonly number[];
  /** Ids that may be sampled for the event at a position (1 = allowed), or null for any. */
  allowedAt(position: number): Uint8Array | null;
}

/** The codec of a byte (or id) stream: any id may be sampled anywhere, no coordinates. */
export function byteCodec(kind: string, vocabSize = 256 + 3): Codec {
  return {
    kind, description: `${kind} ids`, vocabSize, coordinateDims: 0, maxCoordinate: 0, sequenceLength: null,
    coordinates: (position) => [position], allowedAt: () => null,
  };
}
