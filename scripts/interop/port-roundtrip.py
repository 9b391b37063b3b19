#!/usr/bin/env python3
"""The scale-out route tested as far as one CPU allows (docs/scale-out.md): a model trained and
exported by this library (perceiver-ar export --out=DIR) is loaded into the PyTorch port's own model
class (krasserm/perceiver-io v0.11, commit 46c6325) with load_state_dict(strict=True); its logits on
fixed inputs are written; then ONE training step runs there in plain PyTorch (AdamW, the port's
causal LM loss: the latents predict the next tokens); the result is saved in the hub's layout
(config.json + pytorch_model.bin, keys under backend_model.) with its logits after the step, for
`perceiver-ar import` to bring back (test/port-roundtrip.test.ts).

The port's code is not part of this repository: give its source tree (--port) and einops's (--einops)
as for make-port-fixtures.py. Needs PyTorch (Debian: apt-get install python3-torch). From the
repository root:

    /usr/bin/python3 scripts/interop/port-roundtrip.py --port=PATH --einops=PATH --exported=DIR --out=DIR
"""
import argparse
import json
import os
import shutil

from port_path import use_port

parser = argparse.ArgumentParser()
parser.add_argument('--port', required=True)
parser.add_argument('--einops', required=True)
parser.add_argument('--exported', required=True, help='a folder written by perceiver-ar export')
parser.add_argument('--out', required=True, help='where the stepped model and roundtrip.json go')
args = parser.parse_args()

use_port(args.port, args.einops)

import torch  # noqa: E402
from perceiver.model.core import CausalSequenceModelConfig  # noqa: E402
from perceiver.model.core.modules import CausalSequenceModel  # noqa: E402

with open(os.path.join(args.exported, 'config.json')) as f:
    config = CausalSequenceModelConfig(**json.load(f)['model_config'])
model = CausalSequenceModel(config)
state = torch.load(os.path.join(args.exported, 'pytorch_model.bin'))
prefix = 'backend_model.'
model.load_state_dict({k[len(prefix):]: v for k, v in state.items()}, strict=True)

generator = torch.Generator().manual_seed(3)
n, prefix_len = config.max_seq_len, config.max_seq_len - config.max_latents
# Ids 1… only: the exported vocabulary is ours shifted down by one, and inputs stay inside it.
x = torch.randint(1, config.vocab_size, (2, n + 1), generator=generator)
inputs, targets = x[:, :-1], x[:, 1:]

model.eval()
with torch.no_grad():
    before = model(inputs, prefix_len=prefix_len).logits

model.train()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
logits = model(inputs, prefix_len=prefix_len).logits
loss = torch.nn.functional.cross_entropy(logits.reshape(-1, config.vocab_size), targets[:, prefix_len:].reshape(-1))
loss.backward()
optimizer.step()
model.eval()
with torch.no_grad():
    after = model(inputs, prefix_len=prefix_len).logits

os.makedirs(args.out, exist_ok=True)
shutil.copy(os.path.join(args.exported, 'config.json'), os.path.join(args.out, 'config.json'))
torch.save({f'{prefix}{k}': v for k, v in model.state_dict().items()}, os.path.join(args.out, 'pytorch_model.bin'))
with open(os.path.join(args.out, 'roundtrip.json'), 'w') as f:
    json.dump({'port': 'krasserm/perceiver-io 46c6325', 'torch': torch.__version__, 'ids': inputs.tolist(), 'prefixLength': prefix_len,
               'loss': loss.item(), 'logitsBefore': before.tolist(), 'logitsAfter': after.tolist()}, f)
print(f'loaded {args.exported} strictly; one step (loss {loss.item():.4f}); wrote {args.out}')
