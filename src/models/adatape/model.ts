// Sequence classifiers on the encoder (spec adatape): AdaTape, the no-tape control, the standard
// Transformer and the Universal Transformer with ACT. Forward and backward over the kernel set:
//   X0 [B, S, C] = input rows (CLS?, flat token or element tokens) | tape rows (zero until read)
//   X_{l+1} = Block_l(X_l);  before block readLayer: the tape is read (reader.ts) from the bank,
//             passed through the GLU tape MLP and written into the tape rows; slots ≥ n are masked
//   pooled = mean of valid rows of X_L (or the CLS row) → LN → head → logits [B, classes]
//   loss = mean cross-entropy + λ·mean_b(R_b)   (universal: + actWeight·mean ponder cost, act.ts)
import type { Engine } from '../../engine.js';
import { trackedAllocator } from '../../engine.js';
import type { F32, I32, KernelSet, U8 } from '../../kernels/types.js';
import { linearBackward, linearForward, type LinearParams } from '../../nn/linear.js';
import { ParamStore } from '../../nn/params.js';
import { Rng } from '../../tensor/rng.js';
import {
  allocEncoderActs, allocEncoderGrads, encoderBlockBackward, encoderBlockForward, type EncoderActs, type EncoderBlockParams, type EncoderGrads,
  type EncoderShape,
} from '../encoder/block.js';
import { linearOf, normOf, type NormParams } from '../../nn/layer-params.js';
import { ActRecurrence } from './act.js';
import { bankTokens, candidatesOf, elementTokens, hasTape, patchGrid, sequenceRows, validateClassifierConfig, type ClassifierConfig } from './config.js';
import { patchEmbedBackward, patchEmbedForward, patchify, type PatchLayout } from './patches.js';
import { blockCount, classifierParamSpecs, encoderBlockOf } from './params.js';
import { readTape, readTapeBackward, type ReaderSettings, type ReaderTrace } from './reader.js';

/**
 * Examples: values [B, L] are symbol ids in [0, symbols) (symbol input); pixels [B, H, W, ch] are
 * finite floats (image input; values is then empty); labels [B] class ids.
 */
export interface ClassifierBatch {
  readonly batchSize: number;
  readonly values: Int32Array;
  readonly pixels?: Float32Array;
  readonly labels: Int32Array;
}

export interface ClassifierResult {
  /** The optimised loss: cross-entropy + ponder terms. */
  readonly loss: number;
  readonly crossEntropy: number;
  readonly correct: number;
  /** AdaTape: per-example tape length n; universal: per-example mean ACT steps; else null. */
  readonly tapeLengths: Float64Array | null;
  /** AdaTape: mean_b R_b; universal: mean ponder cost; else 0. */
  readonly ponder: number;
}

interface Workspace {
  readonly B: number;
  readonly shape: EncoderShape;
  readonly xs: F32[];
  readonly acts: EncoderActs[];
  readonly grads: EncoderGrads;
  readonly dX: F32;
  /** Key padding of the blocks from the tape read on (tape slots < n valid) … */
  readonly keyValid: U8;
  /** … and before it (every tape row padded). */
  readonly keyValidBefore: U8;
  readonly pooled: F32; readonly pooledLn: F32; readonly poolMean: F32; readonly poolRstd: F32;
  readonly logits: F32; readonly ceLoss: F32; readonly ceLse: F32; readonly labels: I32;
  readonly dLogits: F32; readonly dPooledLn: F32; readonly dPooled: F32;
  readonly tape: TapeBuffers | null;
  readonly act: ActRecurrence | null;
  /** Image input: the backbone's patches [B, L, features] and their tokens' values and gradients [B, L, C]. */
  readonly patches: { readonly input: F32; readonly tokens: F32; readonly dTokens: F32 } | null;
}

interface TapeBuffers {
  readonly query: F32; readonly qn: F32; readonly qMean: F32; readonly qRstd: F32;
  readonly bankRaw: F32; readonly bankN: F32; readonly bankMean: F32; readonly bankRstd: F32; readonly available: U8;
  readonly raw: F32; readonly h: F32; readonly a: F32; readonly tokens: F32;
  readonly dTokens: F32; readonly dA: F32; readonly dH: F32; readonly dRaw: F32;
  readonly dQn: F32; readonly dQuery: F32; readonly dBankN: F32; readonly dBankRaw: F32;
  /** Image input-driven bank: the finer patches [B, Mb, features]. */
  readonly bankPatches: F32 | null;
}

const rows = <T extends F32 | U8>(x: T, n: number): T => x.subarray(0, n) as T;

export class SequenceClassifier {
  readonly config: ClassifierConfig;
  readonly params: ParamStore;
  private readonly k: KernelSet;
  private readonly blocks: EncoderBlockParams[];
  private readonly reader: ReaderSettings;
  private ws: Workspace | null = null;
  private wsAlloc: ReturnType<typeof trackedAllocator> | null = null;
  private last: { batch: ClassifierBatch; trace: ReaderTrace | null; B: number } | null = null;

  /** seed: the parameters' random initialisation; null leaves them zero, for weights loaded next (a checkpoint holds every one). */
  constructor(private readonly engine: Engine, config: ClassifierConfig, seed: number | null = 0) {
    const c = (this.config = validateClassifierConfig(config));
    this.k = engine.kernels;
    this.params = new ParamStore(engine, classifierParamSpecs(c));
    if (seed !== null) this.params.initialise(new Rng(seed));
    this.blocks = Array.from({ length: blockCount(c) }, (_, l) => encoderBlockOf(this.params, c, l));
    this.reader = { maxTape: c.maxTape, candidates: candidatesOf(c), threshold: c.threshold, keyDim: c.width / c.numHeads, ponder: c.ponder };
  }

  private workspace(B: number): Workspace {
    if (this.ws && this.ws.B === B) return this.ws;
    this.wsAlloc?.freeAll();
    const a = (this.wsAlloc = trackedAllocator(this.engine));
    const c = this.config, C = c.width, F = c.mlpRatio * C;
    const { inputRows, tapeRows } = sequenceRows(c);
    const S = inputRows + tapeRows, R = B * S;
    const shape: EncoderShape = { B, S, C, tapeStart: inputRows, eps: c.layerNormEps };
    const applications = c.model === 'universal' ? c.maxSteps : c.numLayers;
    const f = (n: number, what: string): F32 => a.allocF32(n, what);
    let tape: TapeBuffers | null = null;
    if (hasTape(c)) {
      const T = c.maxTape, bankRows = c.bank === 'input' ? B * bankTokens(c) : c.bankSize;
      tape = {
        query: f(B * C, 'tape query'), qn: f(B * C, 'tape query LN'), qMean: f(B, 'LN'), qRstd: f(B, 'LN'),
        bankRaw: f(bankRows * C, 'bank'), bankN: f(bankRows * C, 'bank LN'), bankMean: f(bankRows, 'LN'), bankRstd: f(bankRows, 'LN'),
        available: a.allocU8(B * bankTokens(c), 'bank availability'),
        raw: f(B * T * C, 'tape'), h: f(B * T * 2 * F, 'tape MLP'), a: f(B * T * F, 'tape GLU'), tokens: f(B * T * C, 'tape tokens'),
        dTokens: f(B * T * C, 'grad'), dA: f(B * T * F, 'grad'), dH: f(B * T * 2 * F, 'grad'), dRaw: f(B * T * C, 'grad'),
        dQn: f(B * C, 'grad'), dQuery: f(B * C, 'grad'), dBankN: f(bankRows * C, 'grad'), dBankRaw: f(bankRows * C, 'grad'),
        bankPatches: c.bank === 'input' && c.input === 'image' ? f(bankRows * patchGrid(c, c.bankPatchSize).features, 'bank patches') : null,
      };
    }
    this.ws = {
      B, shape, xs: Array.from({ length: (c.model === 'universal' ? 1 : c.numLayers) + 1 }, () => f(R * C, 'layer activations')),
      acts: Array.from({ length: applications }, () => allocEncoderActs(a, shape, F, c.numHeads)), grads: allocEncoderGrads(a, shape, F),
      dX: f(R * C, 'grad'), keyValid: a.allocU8(R, 'key padding'), keyValidBefore: a.allocU8(R, 'key padding'), pooled: f(B * C, 'pooled'), pooledLn: f(B * C, 'pooled LN'),
      poolMean: f(B, 'LN'), poolRstd: f(B, 'LN'), logits: f(B * c.numClasses, 'logits'), ceLoss: f(B, 'loss'), ceLse: f(B, 'lse'),
      labels: a.allocI32(B, 'labels'), dLogits: f(B * c.numClasses, 'grad'), dPooledLn: f(B * C, 'grad'), dPooled: f(B * C, 'grad'), tape,
      act: c.model === 'universal' ? new ActRecurrence(a, c, shape) : null,
      patches: c.input === 'image'
        ? { input: f(B * c.sequenceLength * patchGrid(c, c.patchSize).features, 'patches'), tokens: f(B * c.sequenceLength * C, 'patch tokens'),
          dTokens: f(B * c.sequenceLength * C, 'grad') }
        : null,
    };
    return this.ws;
  }

  /** Logits of the last forward, [B, numClasses]. */
  logits(): F32 {
    if (!this.last) throw new Error('logits(): run forward first');
    return this.ws!.logits.subarray(0, this.last.B * this.config.numClasses);
  }

  forward(batch: ClassifierBatch, opts: { training?: boolean; rng?: Rng } = {}): ClassifierResult {
    const c = this.config, k = this.k, B = batch.batchSize, L = c.sequenceLength, C = c.width;
    if (!Number.isInteger(B) || B < 1) throw new RangeError(`batchSize must be an integer ≥ 1, got ${B}`);
    this.checkInputs(batch);
    if (batch.labels.length !== B) throw new RangeError(`batch labels hold ${batch.labels.length} ids; the batch has ${B} examples`);
    for (const y of batch.labels) if (!(y >= 0 && y < c.numClasses)) throw new RangeError(`label ${y} is outside [0, ${c.numClasses})`);
    const ws = this.workspace(B), s = ws.shape;
    const training = opts.training === true;
    if (training && !opts.rng) throw new Error('forward: training mode needs an rng (bank hiding, query noise)');
    const rng = opts.rng ?? new Rng(0);
    this.embed(batch, ws.xs[0]!);
    ws.keyValid.fill(1);
    for (let b = 0; b < B; b++) ws.keyValid.fill(0, b * s.S + s.tapeStart, (b + 1) * s.S);
    ws.keyValidBefore.set(ws.keyValid);
    let trace: ReaderTrace | null = null, ponder = 0, lengths: Float64Array | null = null;
    let top: F32;
    if (ws.act) {
      const r = ws.act.forward(k, this.blocks[0]!, this.params, ws.xs[0]!, ws.xs[1]!, ws.acts, ws.keyValid);
      ponder = r.ponder; lengths = r.steps; top = ws.xs[1]!;
    } else {
      for (let l = 0; l < c.numLayers; l++) {
        if (hasTape(c) && l === c.readLayer) {
          trace = this.readInto(batch, ws, ws.xs[l]!, training, rng);
          lengths = Float64Array.from(trace.length);
          ponder = trace.ponder.reduce((x, y) => x + y, 0) / B;
        }
        encoderBlockForward(k, s, this.blocks[l]!, ws.acts[l]!, this.maskOf(ws, l), ws.xs[l]!, ws.xs[l + 1]!);
      }
      top = ws.xs[c.numLayers]!;
    }
    this.pool(ws, top, true);
    const norm = normOf(this.params, 'final.ln'), head = linearOf(this.params, 'head');
    k.layerNormForward({ rows: B, cols: C, eps: c.layerNormEps }, rows(ws.pooled, B * C), norm.g, norm.b, rows(ws.pooledLn, B * C),
      rows(ws.poolMean, B), rows(ws.poolRstd, B));
    const logits = rows(ws.logits, B * c.numClasses);
    linearForward(k, head, B, rows(ws.pooledLn, B * C), logits);
    ws.labels.set(batch.labels);
    k.crossEntropyForward({ rows: B, vocab: c.numClasses, ignoreIndex: -1, zLoss: 0 }, logits, ws.labels.subarray(0, B), rows(ws.ceLoss, B), rows(ws.ceLse, B));
    let ce = 0, correct = 0;
    for (let b = 0; b < B; b++) {
      ce += ws.ceLoss[b]!;
      let best = 0;
      for (let j = 1; j < c.numClasses; j++) if (logits[b * c.numClasses + j]! > logits[b * c.numClasses + best]!) best = j;
      if (best === batch.labels[b]) correct++;
    }
    ce /= B;
    this.last = { batch, trace, B };
    const weight = c.model === 'universal' ? c.actWeight : hasTape(c) ? c.ponderWeight : 0;
    return { loss: ce + weight * ponder, crossEntropy: ce, correct, tapeLengths: lengths, ponder };
  }

  /** The tape reads of the last forward (AdaTape): which bank tokens each example read, with what weights. */
  lastReads(): ReaderTrace | null {
    return this.last?.trace ?? null;
  }

  private checkInputs(batch: ClassifierBatch): void {
    const c = this.config, B = batch.batchSize, L = c.sequenceLength;
    if (c.input === 'image') {
      const n = c.imageHeight * c.imageWidth * c.imageChannels, px = batch.pixels;
      if (!px || px.length !== B * n) {
        throw new RangeError(`batch pixels hold ${px?.length ?? 0} values; ${B} images of ${c.imageWidth}×${c.imageHeight}×${c.imageChannels} need ${B * n}`);
      }
      for (let i = 0; i < px.length; i++) if (!Number.isFinite(px[i])) throw new RangeError(`pixel ${i % n} of image ${Math.floor(i / n)} is ${px[i]}`);
      return;
    }
    if (batch.values.length !== B * L) throw new RangeError(`batch values hold ${batch.values.length} ids; ${B} examples of length ${L} need ${B * L}`);
    for (const v of batch.values) if (!(v >= 0 && v < c.symbols)) throw new RangeError(`symbol id ${v} is outside [0, ${c.symbols})`);
  }

  private layout(side: number): PatchLayout {
    const c = this.config;
    return { height: c.imageHeight, width: c.imageWidth, channels: c.imageChannels, side };
  }

  /** Adds d(loss of the last forward) to the parameter gradients. */
  backward(): void {
    if (!this.last) throw new Error('backward(): run forward first');
    const c = this.config, k = this.k, ws = this.ws!, s = ws.shape, { B, trace } = this.last, C = c.width, R = B * s.S;
    const norm = normOf(this.params, 'final.ln'), head = linearOf(this.params, 'head');
    const dLogits = rows(ws.dLogits, B * c.numClasses);
    dLogits.fill(0);
    k.crossEntropyBackward({ rows: B, vocab: c.numClasses, ignoreIndex: -1, zLoss: 0 }, rows(ws.logits, B * c.numClasses), ws.labels.subarray(0, B),
      rows(ws.ceLse, B), dLogits, 1 / B);
    const dPooledLn = rows(ws.dPooledLn, B * C), dPooled = rows(ws.dPooled, B * C);
    dPooledLn.fill(0); dPooled.fill(0);
    linearBackward(k, head, B, rows(ws.pooledLn, B * C), dLogits, dPooledLn);
    k.layerNormBackward({ rows: B, cols: C, eps: c.layerNormEps }, rows(ws.pooled, B * C), norm.g, rows(ws.poolMean, B), rows(ws.poolRstd, B),
      dPooledLn, dPooled, norm.dg, norm.db);
    const dX = rows(ws.dX, R * C);
    dX.fill(0);
    this.pool(ws, dX, false);
    if (ws.act) {
      ws.act.backward(k, this.blocks[0]!, this.params, dX, ws.acts, ws.keyValid, ws.grads);
    } else {
      for (let l = c.numLayers - 1; l >= 0; l--) {
        encoderBlockBackward(k, s, this.blocks[l]!, ws.acts[l]!, this.maskOf(ws, l), ws.xs[l]!, dX, ws.grads);
        if (trace && l === c.readLayer) this.readBackward(ws, trace, dX);
      }
    }
    this.embedBackward(this.last.batch, dX);
  }

  /** Block l's key padding: tape rows join at the reading layer. */
  private maskOf(ws: Workspace, l: number): U8 {
    return hasTape(this.config) && l < this.config.readLayer ? ws.keyValidBefore : ws.keyValid;
  }

  /** Input rows of X0; tape rows zero. */
  private embed(batch: ClassifierBatch, x: F32): void {
    const c = this.config, B = batch.batchSize, L = c.sequenceLength, C = c.width, S = this.ws!.shape.S, first = c.cls ? 1 : 0;
    x.fill(0, 0, B * S * C);
    const cls = c.cls ? this.params.get('embed.cls').value : null;
    const patches = this.ws!.patches;
    if (patches) {
      patchify(batch.pixels!, B, this.layout(c.patchSize), patches.input);
      patchEmbedForward(this.k, linearOf(this.params, 'embed.patch'), this.params.get('embed.position').value, B, L, patches.input, patches.tokens);
    }
    for (let b = 0; b < B; b++) {
      const row = (r: number): F32 => x.subarray((b * S + r) * C, (b * S + r + 1) * C);
      if (cls) row(0).set(cls);
      if (patches) {
        x.set(patches.tokens.subarray(b * L * C, (b + 1) * L * C), (b * S + first) * C);
      } else if (elementTokens(c)) {
        const w = this.params.get('embed.elements.w').value, bias = this.params.get('embed.elements.b').value, pos = this.params.get('embed.position').value;
        for (let i = 0; i < L; i++) {
          const y = row(first + i), v = batch.values[b * L + i]!;
          for (let ch = 0; ch < C; ch++) y[ch] = w[v * C + ch]! + bias[ch]! + pos[i * C + ch]!;
        }
      } else {
        const w = this.params.get('embed.flat.w').value, y = row(first);
        y.set(this.params.get('embed.flat.b').value);
        for (let i = 0; i < L; i++) {
          const off = (i * c.symbols + batch.values[b * L + i]!) * C;
          for (let ch = 0; ch < C; ch++) y[ch] = y[ch]! + w[off + ch]!;
        }
      }
    }
  }

  private embedBackward(batch: ClassifierBatch, dX: F32): void {
    const c = this.config, B = batch.batchSize, L = c.sequenceLength, C = c.width, S = this.ws!.shape.S, first = c.cls ? 1 : 0;
    const dRow = (b: number, r: number): F32 => dX.subarray((b * S + r) * C, (b * S + r + 1) * C);
    const acc = (into: Float32Array, off: number, g: F32): void => { for (let ch = 0; ch < C; ch++) into[off + ch] = into[off + ch]! + g[ch]!; };
    const patches = this.ws!.patches;
    for (let b = 0; b < B; b++) {
      if (c.cls) acc(this.params.get('embed.cls').grad, 0, dRow(b, 0));
      if (patches) {
        patches.dTokens.set(dX.subarray((b * S + first) * C, (b * S + first + L) * C), b * L * C);
      } else if (elementTokens(c)) {
        const dw = this.params.get('embed.elements.w').grad, db = this.params.get('embed.elements.b').grad, dp = this.params.get('embed.position').grad;
        for (let i = 0; i < L; i++) {
          const g = dRow(b, first + i);
          acc(dw, batch.values[b * L + i]! * C, g); acc(db, 0, g); acc(dp, i * C, g);
        }
      } else {
        const g = dRow(b, first), dw = this.params.get('embed.flat.w').grad;
        acc(this.params.get('embed.flat.b').grad, 0, g);
        for (let i = 0; i < L; i++) acc(dw, (i * c.symbols + batch.values[b * L + i]!) * C, g);
      }
    }
    if (patches) patchEmbedBackward(this.k, linearOf(this.params, 'embed.patch'), this.params.get('embed.position').grad, B, L, patches.input, patches.dTokens);
  }

  /** Rows pooled per example: the CLS row, or every valid row (1/count each). */
  private poolRows(ws: Workspace, b: number): { rows: number[]; weight: number } {
    const s = ws.shape;
    if (this.config.pool === 'cls') return { rows: [0], weight: 1 };
    const list: number[] = [];
    for (let r = 0; r < s.S; r++) if (ws.keyValid[b * s.S + r]) list.push(r);
    return { rows: list, weight: 1 / list.length };
  }

  /** forward: pooled = pool(x); backward: x (a gradient) += pool^T(dPooled). */
  private pool(ws: Workspace, x: F32, forward: boolean): void {
    const C = this.config.width, S = ws.shape.S;
    for (let b = 0; b < ws.B; b++) {
      const { rows: list, weight } = this.poolRows(ws, b);
      const p = (forward ? ws.pooled : ws.dPooled).subarray(b * C, (b + 1) * C);
      if (forward) p.fill(0);
      for (const r of list) {
        const row = x.subarray((b * S + r) * C, (b * S + r + 1) * C);
        for (let ch = 0; ch < C; ch++) {
          if (forward) p[ch] = p[ch]! + weight * row[ch]!;
          else row[ch] = row[ch]! + weight * p[ch]!;
        }
      }
    }
  }

  /** The query rows: the CLS row, or every input row (mean). */
  private queryRows(): { rows: number[]; weight: number } {
    const { inputRows } = sequenceRows(this.config);
    if (this.config.query === 'cls') return { rows: [0], weight: 1 };
    return { rows: Array.from({ length: inputRows }, (_, r) => r), weight: 1 / inputRows };
  }

  private tapeMlp(): { w1: LinearParams; w2: LinearParams } | null {
    return this.config.tapeMlp ? { w1: linearOf(this.params, 'tape.mlp1'), w2: linearOf(this.params, 'tape.mlp2') } : null;
  }

  /** Reads the tape from X_l's query and writes the tape tokens into X_l's tape rows. */
  private readInto(batch: ClassifierBatch, ws: Workspace, x: F32, training: boolean, rng: Rng): ReaderTrace {
    const c = this.config, k = this.k, t = ws.tape!, B = ws.B, C = c.width, S = ws.shape.S, T = c.maxTape, L = c.sequenceLength;
    const ln: NormParams = normOf(this.params, 'tape.ln'), eps = c.layerNormEps;
    const q = this.queryRows();
    t.query.fill(0, 0, B * C);
    for (let b = 0; b < B; b++) {
      for (const r of q.rows) for (let ch = 0; ch < C; ch++) t.query[b * C + ch] = t.query[b * C + ch]! + q.weight * x[(b * S + r) * C + ch]!;
      if (training && c.queryNoise > 0) for (let ch = 0; ch < C; ch++) t.query[b * C + ch] = t.query[b * C + ch]! + c.queryNoise * rng.normal();
    }
    k.layerNormForward({ rows: B, cols: C, eps }, rows(t.query, B * C), ln.g, ln.b, rows(t.qn, B * C), rows(t.qMean, B), rows(t.qRstd, B));
    const perRow = bankTokens(c), bankRows = c.bank === 'input' ? B * perRow : c.bankSize;
    if (t.bankPatches) {
      patchify(batch.pixels!, B, this.layout(c.bankPatchSize), t.bankPatches);
      patchEmbedForward(k, linearOf(this.params, 'tape.bank'), this.params.get('tape.bank_position').value, B, perRow, t.bankPatches, t.bankRaw);
    } else if (c.bank === 'input') {
      const bank = linearOf(this.params, 'tape.bank');
      for (let r = 0; r < B * L; r++) {
        const v = batch.values[r]!;
        for (let ch = 0; ch < C; ch++) t.bankRaw[r * C + ch] = bank.w[v * C + ch]! + bank.b![ch]!;
      }
    } else {
      t.bankRaw.set(this.params.get('tape.bank').value);
    }
    k.layerNormForward({ rows: bankRows, cols: C, eps }, rows(t.bankRaw, bankRows * C), ln.g, ln.b, rows(t.bankN, bankRows * C),
      rows(t.bankMean, bankRows), rows(t.bankRstd, bankRows));
    const available = rows(t.available, B * perRow);
    available.fill(1);
    if (training && c.bank === 'learnable' && c.bankHide > 0) for (let i = 0; i < available.length; i++) if (rng.next() < c.bankHide) available[i] = 0;
    const trace = readTape(this.reader, B, C, perRow, t.qn, t.bankN, c.bank === 'input' ? perRow * C : 0, available, t.raw);
    const mlp = this.tapeMlp(), n = B * T, F = c.mlpRatio * C;
    if (mlp) {
      linearForward(k, mlp.w1, n, rows(t.raw, n * C), rows(t.h, n * 2 * F));
      k.gluForward(n, F, rows(t.h, n * 2 * F), rows(t.a, n * F));
      linearForward(k, mlp.w2, n, rows(t.a, n * F), rows(t.tokens, n * C));
    } else {
      t.tokens.set(rows(t.raw, n * C));
    }
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < T; j++) {
        const row = b * S + ws.shape.tapeStart + j;
        x.set(t.tokens.subarray((b * T + j) * C, (b * T + j + 1) * C), row * C);
        ws.keyValid[row] = j < trace.length[b]! ? 1 : 0;
      }
    }
    return trace;
  }

  /** dX (at the reading layer's input): takes and clears the tape rows' gradient; adds the query's. */
  private readBackward(ws: Workspace, trace: ReaderTrace, dX: F32): void {
    const c = this.config, k = this.k, t = ws.tape!, B = ws.B, C = c.width, S = ws.shape.S, T = c.maxTape, L = c.sequenceLength, n = B * T;
    const F = c.mlpRatio * C, ln = normOf(this.params, 'tape.ln'), eps = c.layerNormEps;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < T; j++) {
        const row = b * S + ws.shape.tapeStart + j;
        t.dTokens.set(dX.subarray(row * C, (row + 1) * C), (b * T + j) * C);
        dX.fill(0, row * C, (row + 1) * C);
      }
    }
    const dRaw = rows(t.dRaw, n * C);
    const mlp = this.tapeMlp();
    if (mlp) {
      const dA = rows(t.dA, n * F), dH = rows(t.dH, n * 2 * F);
      dA.fill(0); dH.fill(0); dRaw.fill(0);
      linearBackward(k, mlp.w2, n, rows(t.a, n * F), rows(t.dTokens, n * C), dA);
      k.gluBackward(n, F, rows(t.h, n * 2 * F), dA, dH);
      linearBackward(k, mlp.w1, n, rows(t.raw, n * C), dH, dRaw);
    } else {
      dRaw.set(rows(t.dTokens, n * C));
    }
    const perRow = bankTokens(c), bankRows = c.bank === 'input' ? B * perRow : c.bankSize;
    const dQn = rows(t.dQn, B * C), dBankN = rows(t.dBankN, bankRows * C);
    dQn.fill(0); dBankN.fill(0);
    const dPonder = new Float64Array(B).fill(c.ponderWeight / B);
    readTapeBackward(this.reader, C, trace, t.bankN, c.bank === 'input' ? perRow * C : 0, dRaw, dPonder, dQn, dBankN);
    const dQuery = rows(t.dQuery, B * C), dBankRaw = rows(t.dBankRaw, bankRows * C);
    dQuery.fill(0); dBankRaw.fill(0);
    k.layerNormBackward({ rows: B, cols: C, eps }, rows(t.query, B * C), ln.g, rows(t.qMean, B), rows(t.qRstd, B), dQn, dQuery, ln.dg, ln.db);
    k.layerNormBackward({ rows: bankRows, cols: C, eps }, rows(t.bankRaw, bankRows * C), ln.g, rows(t.bankMean, bankRows), rows(t.bankRstd, bankRows),
      dBankN, dBankRaw, ln.dg, ln.db);
    if (t.bankPatches) {
      patchEmbedBackward(k, linearOf(this.params, 'tape.bank'), this.params.get('tape.bank_position').grad, B, perRow, t.bankPatches, dBankRaw);
    } else if (c.bank === 'input') {
      const bank = linearOf(this.params, 'tape.bank'), values = this.last!.batch.values;
      for (let r = 0; r < B * L; r++) {
        const v = values[r]!;
        for (let ch = 0; ch < C; ch++) { bank.dw[v * C + ch] = bank.dw[v * C + ch]! + dBankRaw[r * C + ch]!; bank.db![ch] = bank.db![ch]! + dBankRaw[r * C + ch]!; }
      }
    } else {
      const g = this.params.get('tape.bank').grad;
      for (let i = 0; i < g.length; i++) g[i] = g[i]! + dBankRaw[i]!;
    }
    const q = this.queryRows();
    for (let b = 0; b < B; b++) {
      for (const r of q.rows) for (let ch = 0; ch < C; ch++) dX[(b * S + r) * C + ch] = dX[(b * S + r) * C + ch]! + q.weight * dQuery[b * C + ch]!;
    }
  }
}
