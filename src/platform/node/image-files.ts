// Images on disk (Node): the core's PNG and IDX readers (data/png.ts, data/image-datasets.ts) over
// the node file system, for callers that hold paths.
import { parseIdxImages, parseIdxLabels, readImageDataset as readDataset, readLabelledImages as readLabelled, readPngDirectory as readDirectory,
  type ImageDataset, type LabelledImageDataset } from '../../data/image-datasets.js';
import type { Image } from '../../data/images.js';
import { decodePng, encodePng } from '../../data/png.js';
import { nodeFileSystem } from './file-system.js';
import { readFileChecked, writeFileAtomic } from './files.js';

export { decodePng, encodePng };
export { imageGrid, scaleImage } from '../../data/image-grid.js';
export type { ImageDataset, LabelledImageDataset, LabelledSplit } from '../../data/image-datasets.js';

export const readPng = (path: string): Image => decodePng(readFileChecked(path, 'image'), `image ${path}`);
export const writePng = (path: string, image: Image): void => writeFileAtomic(path, encodePng(image));
export const readIdxImages = (path: string): Image[] => parseIdxImages(readFileChecked(path, 'IDX file'), path);
export const readIdxLabels = (path: string): Int32Array => parseIdxLabels(readFileChecked(path, 'IDX file'), path);
export const readPngDirectory = (dir: string): Image[] => readDirectory(nodeFileSystem, dir);
export const readImageDataset = (path: string, testFraction: number): ImageDataset => readDataset(nodeFileSystem, path, testFraction);
export const readLabelledImages = (path: string): LabelledImageDataset => readLabelled(nodeFileSystem, path);
