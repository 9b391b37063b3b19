// Data config keys that several modalities share (each modality lists the ones it uses; the
// registry checks that a key means the same thing everywhere).
import type { DataKey } from './modality.js';

export const DATA_PATH: DataKey = {
  default: '', required: true, path: true, help: 'the data file or directory',
  check: (v: string) => (typeof v === 'string' ? null : 'must be a path'),
};

export const VALIDATION_FRACTION: DataKey = {
  default: 0.05, help: 'fraction held out for validation (from the end of a file; by name for pieces and images)',
  check: (v: number) => (typeof v === 'number' && v >= 0 && v < 1 ? null : 'must be in [0, 1)'),
};

/** The files an image reader takes from a folder (paths inside it): IDX files, PNGs, PNGs in train/ and test/. */
export const IMAGE_FILES = /^([^/]*-ubyte(\.gz)?|[^/]+\.png|(train|test)\/[^/]+\.png)$/i;

/** The files a labelled-image reader takes from a folder: IDX files, PNGs in a class folder of train/ or test/. */
export const LABELLED_IMAGE_FILES = /^([^/]*-ubyte(\.gz)?|(train|test)\/[^/]+\/[^/]+\.png)$/i;

export const booleanKey = (help: string): DataKey => ({ default: false, help, check: (v: boolean) => (typeof v === 'boolean' ? null : 'must be true or false') });
