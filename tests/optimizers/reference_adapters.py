"""References that are more than "the reference class on every tensor", for the float64 tests.

- Muon: torch.optim.Muon takes only matrices, and its documentation pairs it with AdamW for the
  rest; ``MuonWithAdamW`` is that pair, with one lr (the harness sets it on every group).
- Both Muon and pytorch-optimizer's SOAP round to a lower precision inside their step whatever
  the params' dtype (Muon's Newton–Schulz runs in bfloat16, SOAP's QR in float32), which no
  float64 comparison can see through. The adapters remove exactly that cast during the
  reference's step (the tensor stays float64) and change nothing else of its code.
"""

from __future__ import annotations

import contextlib
from unittest import mock

import torch
from pytorch_optimizer import SOAP


@contextlib.contextmanager
def bfloat16_kept_in_full_precision():
    """``tensor.bfloat16()`` returns a float64 copy (torch.optim.Muon's Newton–Schulz cast)."""
    with mock.patch.object(torch.Tensor, "bfloat16", lambda self: self.clone()):
        yield


@contextlib.contextmanager
def float32_cast_of_float64_skipped():
    """``tensor.to(torch.float32)`` of a float64 tensor returns it unchanged (SOAP's QR cast)."""
    to = torch.Tensor.to

    def keep_float64(self, *args, **kwargs):
        if args == (torch.float32,) and not kwargs and self.dtype == torch.float64:
            return self
        return to(self, *args, **kwargs)

    with mock.patch.object(torch.Tensor, "to", keep_float64):
        yield


class MuonWithAdamW:
    """torch.optim.Muon on the 2-D tensors, torch.optim.AdamW on the others, one lr."""

    def __init__(self, params, *, adamw_betas, adamw_eps, adamw_wd, foreach=None, **muon):
        matrices = [p for p in params if p.ndim == 2]
        others = [p for p in params if p.ndim != 2]
        self.optimizers = []
        if matrices:
            self.optimizers.append(torch.optim.Muon(matrices, **muon))
        if others:
            adamw = torch.optim.AdamW(
                others,
                lr=muon["lr"],
                betas=adamw_betas,
                eps=adamw_eps,
                weight_decay=adamw_wd,
                foreach=foreach,
            )
            self.optimizers.append(adamw)

    @property
    def param_groups(self):
        return [group for optimizer in self.optimizers for group in optimizer.param_groups]

    def step(self):
        with bfloat16_kept_in_full_precision():
            for optimizer in self.optimizers:
                optimizer.step()


class SOAPInFullPrecision(SOAP):
    """pytorch_optimizer.SOAP whose eigenbasis refresh keeps float64 (no float32 QR)."""

    def step(self, closure=None):
        with float32_cast_of_float64_skipped():
            return super().step(closure)


ADAPTERS = {"torch.optim.Muon": MuonWithAdamW, "pytorch_optimizer.SOAP": SOAPInFullPrecision}
