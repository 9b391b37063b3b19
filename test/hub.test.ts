// Models from the Hugging Face hub (src/platform/node/hub.ts) through the hub's own client, against
// a loopback server with the hub's URL layout (test/helpers/hub-server.ts; nothing leaves the
// machine): downloads checked against the listed sizes and hashes, continued after a dropped
// connection and across runs, refused when the list and the file disagree, and the cache used
// offline; `perceiver-ar import --from=hf:…` end to end.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { hubModelFolder, parseHubSource } from '../src/platform/node/hub.js';
import { portCheckpoint } from '../src/train/port-checkpoint.js';
import { startHubServer, type Faults, type HubFile } from './helpers/hub-server.js';

const FIXTURE = fileURLToPath(new URL('../../test/fixtures/port-roundtrip/stepped/', import.meta.url));
const FILES: Record<string, HubFile> = {
  'config.json': { bytes: new Uint8Array(readFileSync(join(FIXTURE, 'config.json'))), lfs: false },
  'pytorch_model.bin': { bytes: new Uint8Array(readFileSync(join(FIXTURE, 'pytorch_model.bin'))), lfs: true },
  'README.md': { bytes: new TextEncoder().encode('# not fetched\n'), lfs: false },
  // An empty file is a file too.
  'special_tokens_map.json': { bytes: new Uint8Array(0), lfs: false },
};
const REPO = 'someone/tiny-port', SRC = parseHubSource(`hf:${REPO}`)!;
const root = mkdtempSync(join(tmpdir(), 'par-hub-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshCache = (): string => { const d = join(root, `cache-${n++}`); mkdirSync(d); return d; };
const weightsPath = (cache: string): string => join(cache, 'hub', 'someone--tiny-port', 'main', 'pytorch_model.bin');

async function withServer<T>(faults: Faults, run: (url: string, requests: { path: string; start: number }[]) => Promise<T>): Promise<T> {
  const server = await startHubServer(REPO, 'main', FILES, faults);
  try { return await run(server.url, server.requests); } finally { await server.close(); }
}

describe('hf:OWNER/NAME through @huggingface/hub (loopback hub)', () => {
  it('downloads config and weights, continuing twice after a dropped connection, checked against the hub\'s sha256; then reuses the cache', async () => {
    const cache = freshCache(), logs: string[] = [], seen: number[] = [];
    await withServer({ dropAfter: { 'pytorch_model.bin': [40_000, 30_000] } }, async (url, requests) => {
      const folder = await hubModelFolder(SRC, { hubUrl: url, cacheDir: cache, log: (l) => logs.push(l), progress: (f, done) => { if (f === 'pytorch_model.bin') seen.push(done); } });
      assert.deepEqual(new Uint8Array(readFileSync(join(folder, 'pytorch_model.bin'))), FILES['pytorch_model.bin']!.bytes);
      assert.deepEqual(new Uint8Array(readFileSync(join(folder, 'config.json'))), FILES['config.json']!.bytes);
      assert.ok(!existsSync(join(folder, 'README.md')), 'only what a model needs');
      assert.equal(readFileSync(join(folder, 'special_tokens_map.json')).length, 0);
      const starts = requests.filter((r) => r.path === 'pytorch_model.bin').map((r) => r.start);
      assert.deepEqual(starts, [0, 40_000, 70_000], 'each attempt asks for the bytes it lacks');
      assert.equal(logs.filter((l) => /continuing from byte/.test(l)).length, 2, logs.join('\n'));
      assert.ok(seen.length > 2 && seen[seen.length - 1] === FILES['pytorch_model.bin']!.bytes.length, 'progress reached the size');
      // Again: the file list is read, nothing is downloaded.
      const before = requests.length;
      await hubModelFolder(SRC, { hubUrl: url, cacheDir: cache });
      assert.equal(requests.length, before);
    });
    // The hub gone: offline, or unreachable, the cached copy is used.
    const logs2: string[] = [];
    assert.equal(await hubModelFolder(SRC, { cacheDir: cache, offline: true, log: (l) => logs2.push(l) }), join(cache, 'hub', 'someone--tiny-port', 'main'));
    await hubModelFolder(SRC, { hubUrl: 'http://127.0.0.1:9', cacheDir: cache, log: (l) => logs2.push(l) });
    assert.match(logs2.join('\n'), /offline .*using the cached copy[\s\S]*cannot be reached .*using the cached copy/);
    await assert.rejects(hubModelFolder(parseHubSource('hf:someone/other')!, { cacheDir: cache, offline: true }), /not in the cache/);
    // A torn record of the folder is no record: offline it is not complete; online it is made again.
    writeFileSync(join(cache, 'hub', 'someone--tiny-port', 'main', '.complete.json'), '{"repo": "someone/ti');
    await assert.rejects(hubModelFolder(SRC, { cacheDir: cache, offline: true }), /not in the cache/);
    await withServer({}, async (url, requests) => {
      await hubModelFolder(SRC, { hubUrl: url, cacheDir: cache });
      assert.ok(requests.some((r) => r.path === 'pytorch_model.bin'), 'its files fetched again');
      // A token the client refuses is said as it is, not taken for an unreachable hub.
      await assert.rejects(hubModelFolder(SRC, { hubUrl: url, cacheDir: cache, accessToken: 'not-a-token' }), (e: Error) => !/cached copy/.test(e.message));
    });
    assert.equal(await hubModelFolder(SRC, { cacheDir: cache, offline: true }), join(cache, 'hub', 'someone--tiny-port', 'main'));
  });

  it('continues a download an earlier run left half done (a .part file): only the rest is asked for', async () => {
    const cache = freshCache(), part = `${weightsPath(cache)}.part`;
    mkdirSync(join(part, '..'), { recursive: true });
    writeFileSync(part, FILES['pytorch_model.bin']!.bytes.subarray(0, 100_000));
    await withServer({}, async (url, requests) => {
      await hubModelFolder(SRC, { hubUrl: url, cacheDir: cache });
      assert.deepEqual(requests.filter((r) => r.path === 'pytorch_model.bin').map((r) => r.start), [100_000]);
      assert.deepEqual(new Uint8Array(readFileSync(weightsPath(cache))), FILES['pytorch_model.bin']!.bytes);
    });
  });

  it('refuses a file whose size or hash is not the listed one, and a repository without a model, with one line', async () => {
    const cache = freshCache();
    await withServer({ listedSize: { 'pytorch_model.bin': 12_345 } }, (url) =>
      assert.rejects(hubModelFolder(SRC, { hubUrl: url, cacheDir: cache }), /pytorch_model\.bin is served with \d+ bytes, the file list says 12345; not downloaded/));
    await withServer({ listedHash: { 'pytorch_model.bin': 'ab'.repeat(32) } }, (url) =>
      assert.rejects(hubModelFolder(SRC, { hubUrl: url, cacheDir: cache }), /does not match the hub's sha256 \(abababababab…, got [0-9a-f]{12}…\); the partial download was deleted/));
    assert.ok(!existsSync(weightsPath(cache)) && !existsSync(`${weightsPath(cache)}.part`), 'nothing left in place');
    await withServer({}, (url) => assert.rejects(hubModelFolder(parseHubSource('hf:someone/missing')!, { hubUrl: url, cacheDir: cache }), /no such repository/));
    assert.throws(() => parseHubSource('hf:just-a-name'), /a hub model is hf:OWNER\/NAME or hf:OWNER\/NAME@REVISION/);
    assert.throws(() => parseHubSource('hf:someone/tiny-port@..'), /the revision '\.\.' is not a branch, tag or commit/);
  });

  it('perceiver-ar import --from=hf:OWNER/NAME writes the checkpoint the local folder gives', async () => {
    const cache = freshCache(), out = join(root, 'from-hub.safetensors');
    await withServer({ dropAfter: { 'pytorch_model.bin': [50_000] } }, async (url) => {
      const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
      const child = spawn(process.execPath, [cli, 'import', `--from=hf:${REPO}`, `--out=${out}`, '--threads=1'],
        { env: { ...process.env, HF_ENDPOINT: url, PERCEIVER_AR_CACHE: cache }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 0, stderr);
      assert.match(stderr, /continuing from byte 50000/);
    });
    // The hub gone: a bare --offline, and PERCEIVER_AR_OFFLINE=1, import from the cache.
    for (const [flag, env] of [[['--offline'], {}], [[], { PERCEIVER_AR_OFFLINE: '1' }]] as const) {
      const again = join(root, `again-${n++}.safetensors`);
      const r = spawnSync(process.execPath, [fileURLToPath(new URL('../src/cli/main.js', import.meta.url)), 'import', `--from=hf:${REPO}`, ...flag, `--out=${again}`,
        '--threads=1'], { env: { ...process.env, ...env, PERCEIVER_AR_CACHE: cache, HF_ENDPOINT: 'http://127.0.0.1:9' }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /offline \(PERCEIVER_AR_OFFLINE=1\); using the cached copy|offline.*using the cached copy/);
      assert.deepEqual(readFileSync(again), readFileSync(out));
    }
    const local = decodeSafetensors(portCheckpoint({ config: FILES['config.json']!.bytes, configName: 'config.json', weights: FILES['pytorch_model.bin']!.bytes,
      weightsName: 'pytorch_model.bin' }).bytes).tensors;
    const hub = decodeSafetensors(new Uint8Array(readFileSync(out))).tensors;
    assert.deepEqual([...hub.keys()], [...local.keys()]);
    for (const [k, t] of hub) assert.deepEqual(t.data, local.get(k)!.data, k);
  });
});
