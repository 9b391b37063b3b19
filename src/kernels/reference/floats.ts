/** The reference backend runs on float32 (to compare with fast backends) or float64 (gradient checks). */
export type Floats = Float32Array | Float64Array;
