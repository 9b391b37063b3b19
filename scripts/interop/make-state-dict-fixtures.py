#!/usr/bin/env python3
"""Writes the PyTorch state-dict fixtures of test/foreign-weights.test.ts (test/fixtures/torch/):
small files saved by torch.save itself, and what PyTorch reads back from them (expected.json), so
the TypeScript reader is checked against PyTorch's own files without PyTorch in CI.

Needs PyTorch (Debian: apt-get install python3-torch). Run from the repository root:
    python3 scripts/interop/make-state-dict-fixtures.py
"""
import collections
import json
import os
import sys

import torch

OUT = os.path.join('test', 'fixtures', 'torch')
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)


def values(t):
    # JSON has no infinities or NaN: those are written as the strings 'Infinity', '-Infinity', 'NaN'.
    out = []
    for v in t.detach().to(torch.float32).reshape(-1).tolist():
        out.append(v if v == v and abs(v) != float('inf') else ('NaN' if v != v else ('Infinity' if v > 0 else '-Infinity')))
    return out


def describe(sd):
    return {k: {'dtype': {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16'}[v.dtype],
                'shape': list(v.shape), 'values': values(v)} for k, v in sd.items()}


# 1. float32: a Linear layer's state dict (an OrderedDict with _metadata), a transposed view and
#    an offset slice sharing one storage, a scalar and an empty tensor.
lin = torch.nn.Linear(3, 2)
base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 7
sd = lin.state_dict()
sd['shared.base'] = base
sd['shared.transposed'] = base.t()
sd['shared.row'] = base[1]
sd['shared.column'] = base[:, 2]
sd['scalar'] = torch.tensor(3.25)
sd['empty'] = torch.zeros(0, 5)
torch.save(sd, os.path.join(OUT, 'float32.bin'))

# 2. float16 and bfloat16, with the values that are easy to get wrong: ±0, subnormals, the largest
#    finite, infinities, rounding.
special = torch.tensor([0.0, -0.0, 1.0, -2.5, 6.1e-5, 5.96e-8, 65504.0, float('inf'), float('-inf'), 1 / 3, 1e-3, 3.14159])
half = collections.OrderedDict()
half['half'] = special.to(torch.float16)
half['bf16'] = torch.cat([special, torch.tensor([1e38, -3e-39])]).to(torch.bfloat16)
half['half_matrix'] = torch.randn(4, 3).to(torch.float16).t()
torch.save(half, os.path.join(OUT, 'half.bin'))

# 3. A Lightning-style checkpoint: the state dict under 'state_dict' beside plain values.
torch.save({'state_dict': collections.OrderedDict([('model.w', torch.ones(2, 2))]), 'epoch': 3, 'global_step': 10},
           os.path.join(OUT, 'lightning.ckpt'))

# 4. Refused: a pickle that would run a command when unpickled by Python (os.system), int64
#    tensors, the legacy (pre-1.6) format.
class Evil:
    def __reduce__(self):
        return (os.system, ('echo this pickle runs code',))


torch.save({'w': torch.ones(2), 'x': Evil()}, os.path.join(OUT, 'runs-code.bin'))
torch.save(collections.OrderedDict([('ids', torch.arange(3))]), os.path.join(OUT, 'int64.bin'))
torch.save(collections.OrderedDict([('w', torch.ones(2))]), os.path.join(OUT, 'legacy.bin'), _use_new_zipfile_serialization=False)

# What PyTorch reads back.
expected = {
    'torch': torch.__version__,
    'float32.bin': describe(torch.load(os.path.join(OUT, 'float32.bin'))),
    'half.bin': describe(torch.load(os.path.join(OUT, 'half.bin'))),
    'lightning.ckpt': describe(torch.load(os.path.join(OUT, 'lightning.ckpt'))['state_dict']),
}
with open(os.path.join(OUT, 'expected.json'), 'w') as f:
    json.dump(expected, f, indent=1, allow_nan=False)
print('wrote', sorted(os.listdir(OUT)), 'with torch', torch.__version__, file=sys.stderr)
