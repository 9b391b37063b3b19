"""Puts the PyTorch port's source tree on the import path for the interop scripts: the port and
einops from the checkouts given, and a stand-in for fairscale (only its checkpoint_wrapper is
imported, for activation checkpointing, which these scripts do not use: it returns the module)."""
import os
import sys
import tempfile


def use_port(port, einops):
    shim = tempfile.mkdtemp()
    os.makedirs(os.path.join(shim, 'fairscale', 'nn'))
    open(os.path.join(shim, 'fairscale', '__init__.py'), 'w').close()
    with open(os.path.join(shim, 'fairscale', 'nn', '__init__.py'), 'w') as f:
        f.write('def checkpoint_wrapper(module, *args, **kwargs):\n    return module\n')
    sys.path[:0] = [port, einops, shim]
