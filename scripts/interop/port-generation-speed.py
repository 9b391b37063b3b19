#!/usr/bin/env python3
"""The PyTorch port's cached generation speed at the giant-midi shape (spec krasserm-interop §1:
vocabulary 389, 768 channels, 8 heads, 18 self-attention layers, 134,840,832 parameters), random
weights, on this machine: a prompt of --prompt tokens primed with one latent (prefix = prompt − 1,
as its generate does by default), then --new tokens, each a forward of the new token with the
caches (its generate's loop without the Hugging Face wrapper, which needs `transformers`; no cache
truncation happens below max_latents / max_seq_len). Greedy; prints tokens/s per thread count.

    /usr/bin/python3 scripts/interop/port-generation-speed.py --port=PATH/perceiver-io --einops=PATH/einops [--threads 1 2]
"""
import argparse
import json
import sys
import time

from port_path import use_port

parser = argparse.ArgumentParser()
parser.add_argument('--port', required=True)
parser.add_argument('--einops', required=True)
parser.add_argument('--prompt', type=int, default=3584)
parser.add_argument('--new', type=int, default=256)
parser.add_argument('--threads', type=int, nargs='*', default=[2, 1])
parser.add_argument('--rounds', type=int, default=3)
parser.add_argument('--json', action='store_true', help='one JSON line per thread count (for npm run bench -- interop)')
args = parser.parse_args()

use_port(args.port, args.einops)

import torch  # noqa: E402
from perceiver.model.core import CausalSequenceModelConfig  # noqa: E402
from perceiver.model.core.modules import CausalSequenceModel  # noqa: E402

torch.manual_seed(0)
config = CausalSequenceModelConfig(vocab_size=389, max_seq_len=6144, max_latents=2048, num_channels=768, num_heads=8, num_self_attention_layers=18,
                                   num_self_attention_rotary_layers=1, output_norm=True, output_bias=False, abs_pos_emb=False, cross_attention_dropout=0.5)
model = CausalSequenceModel(config).eval()
print(f'giant-midi shape: {sum(p.numel() for p in model.parameters()):,} parameters; torch {torch.__version__}; prompt {args.prompt}, {args.new} new tokens',
      file=sys.stderr)
prompt = torch.randint(0, 388, (1, args.prompt), generator=torch.Generator().manual_seed(1))

for threads in args.threads:
    torch.set_num_threads(threads)
    rates, firsts = [], []
    for _ in range(args.rounds):
        with torch.inference_mode():
            start = time.perf_counter()
            out = model(prompt, prefix_len=args.prompt - 1, kv_cache=[])
            token = out.logits[:, -1].argmax(-1, keepdim=True)
            first = time.perf_counter()
            cache = out.kv_cache
            for _ in range(args.new - 1):
                out = model(token, prefix_len=args.prompt - 1, kv_cache=cache)
                cache = out.kv_cache
                token = out.logits[:, -1].argmax(-1, keepdim=True)
            end = time.perf_counter()
        firsts.append(first - start)
        rates.append((args.new - 1) / (end - first))
    rates.sort()
    if args.json:
        print(json.dumps({'threads': threads, 'tokensPerSecond': rates[len(rates) // 2], 'firstTokenSeconds': sorted(firsts)[len(firsts) // 2],
                          'rates': rates, 'torch': torch.__version__}))
        continue
    print(f'threads {threads}: {rates[len(rates) // 2]:.1f} tokens/s (median of {args.rounds}: {", ".join(f"{r:.1f}" for r in rates)}), '
          f'first token {sorted(firsts)[len(firsts) // 2]:.2f} s')
