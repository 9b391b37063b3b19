// `perceiver-ar import` and `perceiver-ar export`: models of the PyTorch port (krasserm/perceiver-io)
// in and out (docs/interop.md). import converts its files (config.json + pytorch_model.bin,
// model.safetensors or a Lightning .ckpt) to one of our checkpoints; export writes a port-compatible
// checkpoint as the port's config.json + pytorch_model.bin, which its model class loads (load_state_dict, strict).
import type { Metrics } from '../data/modality.js';
import { DATA_DEFAULTS, MODALITIES, validateDataConfig } from '../data/registry.js';
import type { Engine } from '../engine.js';
import { UsageError } from '../errors.js';
import { checkOutputAgainst } from '../io/file-system.js';
import { parameterCount } from '../models/perceiver-ar/config.js';
import { portParameterCount } from '../models/perceiver-ar/port-config.js';
import { portConfigFromModel } from '../models/perceiver-ar/port-weights.js';
import { flagOption, outputOption, parseOptions, pathOption, stringOption } from '../options.js';
import { hubModelFolder, parseHubSource, type HubOptions } from '../platform/node/hub.js';
import { loadCheckpoint } from '../platform/node/checkpoint.js';
import { nodeFileSystem } from '../platform/node/file-system.js';
import { writeFileAtomic } from '../platform/node/files.js';
import { exportFolder, isOurSafetensors, portCheckpointAt, portFilesAt } from '../platform/node/port-files.js';
import { exportPortFiles } from '../train/port-checkpoint.js';
import type { Args } from './args.js';
import { CHECKPOINT_OPTION, OUTPUT_OPTIONS, runContext } from './context.js';

const sequenceKinds = (): string[] => MODALITIES.filter((m) => m.task === 'sequence').map((m) => m.name);

export const IMPORT_HELP = `perceiver-ar import --from=DIR_OR_FILE|hf:OWNER/NAME[@REVISION] --out=MODEL.safetensors [--config=config.json] [--data=KIND]
                    [--offline]
  Converts a model of the PyTorch port (krasserm/perceiver-io: a folder with config.json and model.safetensors or pytorch_model.bin,
  or a weights file — .bin, .pt, .ckpt, .safetensors — with config.json beside it) to a checkpoint of this library, checked tensor by
  tensor. hf:OWNER/NAME downloads it from the Hugging Face hub into $PERCEIVER_AR_CACHE (default ~/.cache/perceiver-ar): resumable,
  checked against the hub's sizes and hashes; --offline (or PERCEIVER_AR_OFFLINE=1) uses the cached copy; HF_TOKEN is sent when set,
  HF_ENDPOINT names another hub. --data: the kind of data stored with it (default: port-text when a tokenizer.json came with it,
  port-music for the port's music vocabulary). generate, eval, info and export also read the port's files directly (--checkpoint=DIR).`;
export const EXPORT_HELP = `perceiver-ar export --checkpoint=CKPT --out=DIR
  Writes a port-compatible model (imported, or built with the port's switches: docs/interop.md) in the port's layout:
  DIR/config.json and DIR/pytorch_model.bin (the hub's layout), which the port's model class loads with torch.load + load_state_dict(strict=True).`;

/** import's options (exported for the command line's list of flags). */
export const IMPORT_OPTIONS = [stringOption('from'), pathOption('config', '.json'), outputOption('out'), stringOption('data', sequenceKinds()), flagOption('offline')];

export async function importCommand(_engine: Engine, args: Args): Promise<Metrics> {
  const o = parseOptions(args, [...IMPORT_OPTIONS, ...OUTPUT_OPTIONS], 'for import');
  const given = o.string('from'), out = o.string('out');
  if (given === undefined || out === undefined) throw new UsageError(`usage: ${IMPORT_HELP.split('\n')[0]!.slice('perceiver-ar '.length)}`);
  const hub = parseHubSource(given);
  if (hub) checkOutputAgainst(nodeFileSystem, out, 'checkpoint', []);
  // Without --offline the hub client decides (PERCEIVER_AR_OFFLINE=1 in the environment).
  const from = hub ? await hubModelFolder(hub, { ...(o.flag('offline') ? { offline: true } : {}), ...hubProgress(o) }) : given;
  if (nodeFileSystem.kind(from) === null) throw new UsageError(`--from=${from} does not exist`);
  const at = portFilesAt(from, o.string('config'));
  if (!at && /\.safetensors$/i.test(from) && !isOurSafetensors(from)) {
    throw new UsageError(`--from=${from} holds weights from elsewhere, and the port's config.json is not beside it: put it there, or give --config=FILE`);
  }
  if (!at) throw new UsageError(`--from=${from} is one of this library's checkpoints already (import reads the PyTorch port's files)`);
  const ctx = runContext(o, [at.config, at.weights]);
  checkOutputAgainst(nodeFileSystem, out, 'checkpoint', [at.config, at.weights, from]);
  const kind = o.string('data');
  const data = kind === undefined ? null : validateDataConfig({ ...DATA_DEFAULTS, data: kind }, { requireInputs: false });
  const started = performance.now();
  const made = portCheckpointAt(at, data);
  writeFileAtomic(out, made.bytes);
  for (const n of made.notes) ctx.log(`note: ${n}`);
  const seconds = (performance.now() - started) / 1000, params = parameterCount(made.config);
  if (!ctx.json) {
    ctx.write(`wrote ${out}: ${params.toLocaleString('en-US')} parameters from ${at.weights} and ${at.config} (${seconds.toFixed(1)} s); ` +
      `data: ${made.data ? made.data.data : 'none stored (eval takes --data=KIND)'}\n`);
  }
  return { out, from: at.weights, config: at.config, parameters: params, data: made.data?.data ?? null, seconds };
}

/** Download progress for the hub client: one bar per file, notices on stderr. */
function hubProgress(o: ReturnType<typeof parseOptions>): Pick<HubOptions, 'progress' | 'log'> {
  const ctx = runContext(o);
  let bar: { file: string; p: ReturnType<typeof ctx.progress> } | null = null;
  return {
    log: (line) => ctx.log(line),
    progress: (file, done, total) => {
      if (bar?.file !== file) { bar?.p.finish(); bar = { file, p: ctx.progress(total, `download ${file}`, 1 << 20) }; }
      bar.p.update(done, {});
      if (done >= total) { bar.p.finish(); bar = null; }
    },
  };
}

export function exportCommand(engine: Engine, args: Args): Metrics {
  const o = parseOptions(args, [CHECKPOINT_OPTION, outputOption('out'), ...OUTPUT_OPTIONS], 'for export');
  const path = o.string('checkpoint'), out = o.string('out');
  if (path === undefined || out === undefined) throw new UsageError(`usage: ${EXPORT_HELP.split('\n')[0]!.slice('perceiver-ar '.length)}`);
  // Its inputs: the checkpoint, or a port folder's own files (exporting a folder onto itself would overwrite what it reads).
  const port = portFilesAt(path), inputs = [path, ...(port ? [port.config, port.weights] : [])];
  const ctx = runContext(o, inputs);
  const { model } = loadCheckpoint(path, engine);
  const files = exportPortFiles(model.config, model.params);
  const targets = exportFolder(out, ['config.json', 'pytorch_model.bin']);
  for (const t of targets) checkOutputAgainst(nodeFileSystem, t, 'export', inputs);
  writeFileAtomic(targets[0]!, files['config.json']);
  writeFileAtomic(targets[1]!, files['pytorch_model.bin']);
  const parameters = portParameterCount(portConfigFromModel(model.config));
  if (!ctx.json) ctx.write(`wrote ${targets.join(' and ')}: the port's layout (keys under backend_model., float32), ${parameters.toLocaleString('en-US')} parameters\n`);
  return { out, files: targets.join(','), parameters, bytes: files['pytorch_model.bin'].length };
}
