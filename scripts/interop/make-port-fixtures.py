#!/usr/bin/env python3
"""Writes golden fixtures from the PyTorch port (krasserm/perceiver-io v0.11, commit 46c6325) into
test/fixtures/port/: tiny models of several configurations built and initialised by the port's own
code, each as config.json + pytorch_model.bin in the hub's layout (keys under `backend_model.`)
and logits.json (fixed inputs, prefix lengths, and the port's logits for them, uncached; and a
cached greedy generation through its kv_cache with every step's logits).

The port's code is not part of this repository: give its source tree with --port (a checkout of
github.com/krasserm/perceiver-io) and einops's with --einops (github.com/arogozhnikov/einops; pure
Python). fairscale is only needed for activation checkpointing, which the fixtures do not use: a
stand-in whose checkpoint_wrapper returns the module unchanged is put on the path. Needs PyTorch
(Debian: apt-get install python3-torch). Run from the repository root:

    /usr/bin/python3 scripts/interop/make-port-fixtures.py --port=PATH/perceiver-io --einops=PATH/einops
"""
import argparse
import dataclasses
import json
import os
import sys

from port_path import use_port

parser = argparse.ArgumentParser()
parser.add_argument('--port', required=True, help='the perceiver-io source tree (holds perceiver/)')
parser.add_argument('--einops', required=True, help='the einops source tree (holds einops/)')
parser.add_argument('--out', default=os.path.join('test', 'fixtures', 'port'))
args = parser.parse_args()

use_port(args.port, args.einops)

import torch  # noqa: E402
from perceiver.model.core import CausalSequenceModelConfig  # noqa: E402
from perceiver.model.core.modules import CausalSequenceModel  # noqa: E402

BASE = dict(vocab_size=23, max_seq_len=24, max_latents=8, num_channels=16, num_heads=2, num_self_attention_layers=3,
            cross_attention_dropout=0.0, init_scale=0.1)
CONFIGS = {
    # The giant-midi pattern: no absolute table, output norm, no output bias, rotary in the first self-attention layer.
    'rotary-1': dict(num_self_attention_rotary_layers=1, abs_pos_emb=False, output_norm=True, output_bias=False),
    'rotary-all': dict(num_self_attention_rotary_layers=-1, abs_pos_emb=False, output_norm=True, output_bias=False),
    # The port's defaults: an absolute table (rotary on half of each head), output bias, no output norm.
    'abs-bias': dict(num_self_attention_rotary_layers=1, abs_pos_emb=True, output_norm=False, output_bias=True),
    'abs-norm-bias': dict(num_self_attention_rotary_layers=-1, abs_pos_emb=True, output_norm=True, output_bias=True),
}

os.makedirs(args.out, exist_ok=True)
for name, extra in CONFIGS.items():
    torch.manual_seed(0)
    config = CausalSequenceModelConfig(**BASE, **extra)
    model = CausalSequenceModel(config).eval()
    # Non-trivial LayerNorm parameters and biases (the port initialises them to 1 and 0).
    with torch.no_grad():
        for key, p in model.named_parameters():
            if key.endswith('norm.weight') or key.endswith('.0.weight') and p.dim() == 1:
                p.add_(torch.randn_like(p) * 0.1)
            elif key.endswith('bias'):
                p.add_(torch.randn_like(p) * 0.1)
    folder = os.path.join(args.out, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'config.json'), 'w') as f:
        json.dump({'model_config': dataclasses.asdict(config)}, f, indent=1)
    state = {f'backend_model.{k}': v for k, v in model.state_dict().items()}
    torch.save(state, os.path.join(folder, 'pytorch_model.bin'))
    cases = []
    generator = torch.Generator().manual_seed(1)
    for n, prefix in [(12, 4), (20, 12), (24, 16), (9, 1)]:
        x = torch.randint(0, config.vocab_size, (2, n), generator=generator)
        with torch.no_grad():
            logits = model(x, prefix_len=prefix).logits
        cases.append({'ids': x.tolist(), 'prefixLength': prefix, 'logits': logits.tolist()})
    # Cached greedy generation as its Hugging Face generate runs it (prepare_inputs_for_generation):
    # the prompt primed with num_latents=1 latent (prefix = prompt - 1), then one token at a time
    # through the backend's kv_cache with the prefix fixed, up to max_latents latents (before any
    # truncation). Each step's last-position logits are kept.
    prompt = torch.randint(0, config.vocab_size, (1, 10), generator=generator)
    prefix, tokens, step_logits = prompt.shape[1] - 1, [], []
    with torch.no_grad():
        out = model(prompt, prefix_len=prefix, kv_cache=[])
        for step in range(config.max_latents):
            last = out.logits[0, -1]
            step_logits.append(last.tolist())
            tokens.append(int(last.argmax()))
            if step == config.max_latents - 1:
                break
            out = model(torch.tensor([[tokens[-1]]]), prefix_len=prefix, kv_cache=out.kv_cache)
    generation = {'prompt': prompt[0].tolist(), 'numLatents': 1, 'tokens': tokens, 'logits': step_logits}
    with open(os.path.join(folder, 'logits.json'), 'w') as f:
        json.dump({'port': 'krasserm/perceiver-io 46c6325', 'torch': torch.__version__, 'cases': cases, 'generation': generation}, f)
    print(name, sum(p.numel() for p in model.parameters()), 'parameters', file=sys.stderr)
