"""Any ``torch.optim.Optimizer`` subclass on optbench's arrays: ``torch:module.Class``.

- **No copies.** Each run's slice of each param array is a ``torch.from_numpy`` view of it (float32
  or float64, as the array), and each step binds each run's slice of each grad array as its
  ``.grad``, also a view. The library updates optbench's arrays in place; it may also change the
  grads in place, as it may change ``.grad`` in torch (the engine does not read them after the
  step).
- **Runs stay independent.** Each run gets its own instance of the optimizer over its own views:
  per-tensor rules (LAMB, LARS, Muon) see one run's tensor, and rules that reduce over all their
  params (L-BFGS's flat vector, SAM's gradient norm) reduce over one run's.
- **Schedules and clipping.** optbench clips the grads before ``step``, as for native rules; the
  step's learning rate is written into every param group's ``lr`` before each step (as torch's
  ``lr_scheduler`` does).
- **Closures.** A class whose ``step(closure)`` has no default (``torch.optim.LBFGS``), or whose
  step raises pytorch_optimizer's ``NoClosureError`` without one (AliG), needs one:
  ``step`` is then given ``closure() -> (loss, grads)``, the objective at the current params (all
  runs), and each run's optimizer calls it as often as it likes; the calls are counted per run
  (``state.evaluations``). Each call evaluates every run, so a closure costs R evaluations of one.
- **Evaluation point.** A class with ``eval()``/``train()`` (schedule-free) is switched to
  ``eval()`` for :meth:`TorchAdapted.eval_params`, copied, and switched back with ``train()``, as
  a torch training loop does around an evaluation.
- **Scalars.** torch keeps some state scalars (NAdam's ``mu_product``, step counts) in its default
  dtype, so each step runs with the default dtype set to the params' dtype, and restored after.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np
import torch

from optimizers.adapters import signature
from optimizers.adapters.base import Adapted, adapted_class
from optimizers.base import Params

KNOWN_MODULES = ("torch.optim", "pytorch_optimizer", "schedulefree")
Closure = Callable[[], tuple[np.ndarray, Params]]


@dataclasses.dataclass
class TorchState:
    """One torch optimizer per run over that run's views of the param arrays.

    Attributes
    ----------
    step : int
        Steps taken so far.
    arrays : list of ndarray
        The param arrays the views belong to (bound by ``init``).
    tensors : list of list of Tensor
        Per run, one view per param array.
    optimizers : list of torch.optim.Optimizer
        Per run, the library's optimizer over that run's tensors.
    evaluations : ndarray of int, shape (R,)
        Closure calls per run (optimizers that need a closure; zero otherwise).
    """

    step: int
    arrays: Params
    tensors: list[list[torch.Tensor]]
    optimizers: list[torch.optim.Optimizer]
    evaluations: np.ndarray


@contextlib.contextmanager
def default_dtype(dtype: np.dtype) -> Iterator[None]:
    """torch's default dtype set to ``dtype`` (float32 or float64), and torch on one thread,
    inside the block. One thread as optbench's BLAS: jobs, not threads, are the unit of
    parallelism (torch's own pool, on a loaded 2-core machine, made a step 10x slower)."""
    previous, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)
        torch.set_num_threads(threads)


@dataclasses.dataclass(frozen=True)
class TorchAdapted(Adapted):
    """A ``torch.optim.Optimizer`` subclass run through the torch adapter."""

    prefix = "torch"
    muon_groups: ClassVar[bool] = False  # param groups with use_muon (see build)

    def library_keywords(self) -> dict[str, Any]:
        return self.hyperparameters()

    def validate(self) -> None:
        probe = torch.zeros((2, 2), dtype=torch.float64)
        with default_dtype(np.dtype(np.float64)):
            self.build([probe])

    def build(self, tensors: list[torch.Tensor]) -> torch.optim.Optimizer:
        """The library's optimizer over one run's tensors. A Muon-style class (param groups
        must say ``use_muon``) gets its usual split: matrices use Muon, the rest its AdamW."""
        if not self.muon_groups:
            return self.target(tensors, **self.library_keywords())
        groups = [
            {"params": [t for t in tensors if (t.ndim >= 2) == use_muon], "use_muon": use_muon}
            for use_muon in (True, False)
        ]
        return self.target([g for g in groups if g["params"]], **self.library_keywords())

    def init(self, params: Params) -> TorchState:
        """One optimizer per run over ``torch.from_numpy`` views of that run's slices."""
        runs = params[0].shape[0]
        tensors = [[torch.from_numpy(p[r, ...]) for p in params] for r in range(runs)]
        with default_dtype(params[0].dtype):
            instances = [self.build(run) for run in tensors]
        for instance in instances:
            for group in instance.param_groups:
                group.setdefault("initial_lr", group.get("lr"))
            if callable(getattr(instance, "train", None)):
                instance.train()  # schedule-free optimizers start in training mode
        evaluations = np.zeros(runs, dtype=np.int64)
        return TorchState(0, list(params), tensors, instances, evaluations)

    def step(
        self,
        params: Params,
        grads: Params,
        state: TorchState,
        lr: float | np.ndarray | None = None,
        closure: Closure | None = None,
    ) -> None:
        """One step of every run's optimizer, at this step's ``lr`` (a float, or one per run)."""
        if self.needs_closure and closure is None:
            raise ValueError(f"{self.full_name} needs a closure: step(..., closure=...)")
        state.step += 1
        rates = np.broadcast_to(np.asarray(self._lr(lr), dtype=np.float64), (len(state.tensors),))
        bound = self._bind(params, state)
        with default_dtype(params[0].dtype), torch.no_grad():
            for r, (instance, tensors) in enumerate(
                zip(state.optimizers, state.tensors, strict=True)
            ):
                self._set_grads(tensors, grads, r)
                if self.scheduled:
                    self._set_rates(instance, float(rates[r]))
                if self.needs_closure:
                    instance.step(self._run_closure(closure, tensors, state, r))
                else:
                    instance.step()
        for p, a in zip(params, bound, strict=True):
            if p is not a:
                p[...] = a

    def _bind(self, params: Params, state: TorchState) -> Params:
        """The arrays the views belong to, holding ``params``' values (a caller may pass others)."""
        for p, a in zip(params, state.arrays, strict=True):
            if p is not a:
                a[...] = p
        return state.arrays

    def _set_rates(self, instance: torch.optim.Optimizer, rate: float) -> None:
        """Each group's lr for this step, as ``torch.optim.lr_scheduler.LambdaLR`` sets it: the
        group's initial lr times the schedule's factor (``rate / self.lr``); a group that
        started at ``self.lr`` gets ``rate`` itself."""
        for group in instance.param_groups:
            initial = group["initial_lr"]
            if initial == self.lr or not isinstance(initial, int | float):
                group["lr"] = rate
            else:
                group["lr"] = initial * rate / self.lr if self.lr else 0.0

    @staticmethod
    def _set_grads(tensors: list[torch.Tensor], grads: Params, run: int) -> None:
        for tensor, g in zip(tensors, grads, strict=True):
            tensor.grad = torch.from_numpy(g[run, ...])  # a view, 0-d for an (R,) array

    def _run_closure(self, closure: Closure, tensors, state: TorchState, run: int):
        """torch's closure for ``run``: evaluate, bind that run's grads, return its loss."""

        def run_closure() -> torch.Tensor:
            loss, grads = closure()
            state.evaluations[run] += 1
            self._set_grads(tensors, grads, run)
            return torch.tensor(float(loss[run]))

        return run_closure

    def eval_params(self, params: Params, state: TorchState) -> Params:
        """The params ``eval()`` gives (schedule-free's averaged x), else ``params`` themselves."""
        instances = state.optimizers
        if state.step == 0 or not callable(getattr(instances[0], "eval", None)):
            return params  # before the first step the evaluation point is the start
        with default_dtype(params[0].dtype), torch.no_grad():
            for instance in instances:
                instance.eval()
            evaluated = [a.copy() for a in state.arrays]
            for instance in instances:
                instance.train()
        return evaluated


def needs_closure(cls: type) -> bool:
    """Whether ``cls.step`` takes a closure without a default (``torch.optim.LBFGS``), or raises
    pytorch_optimizer's ``NoClosureError`` without one (AliG), read from its source."""
    closure = inspect.signature(cls.step).parameters.get("closure")
    if closure is None:
        return False
    if closure.default is inspect.Parameter.empty:
        return True
    try:
        return "NoClosureError" in inspect.getsource(cls.step)
    except (OSError, TypeError):
        return False


def resolve(full_name: str) -> type[TorchAdapted]:
    """The adapted class of ``torch:module.Class``; ``ValueError`` (one line) if it is none."""
    module_name, _, target = signature.import_target(full_name, KNOWN_MODULES)
    if not (isinstance(target, type) and issubclass(target, torch.optim.Optimizer)):
        raise ValueError(
            f"optimizer {full_name!r}: {module_name}.{full_name.rpartition('.')[2]} is not a "
            f"torch.optim.Optimizer subclass"
        )
    return adapted_class(
        TorchAdapted,
        full_name,
        module_name,
        target,
        needs_closure=needs_closure(target),
        muon_groups=muon_groups(target),
    )


def muon_groups(cls: type) -> bool:
    """Whether ``cls`` needs param groups that say ``use_muon`` (pytorch_optimizer's Muon
    family), read from its constructor's source."""
    try:
        return "'use_muon'" in inspect.getsource(cls.__init__)
    except (OSError, TypeError):
        return False


def catalogue(module_name: str) -> list[str]:
    """The full names of the optimizer classes ``module_name`` offers, sorted."""
    module = signature.import_module(module_name, KNOWN_MODULES, "optbench list --torch")
    names = []
    for attribute in dir(module):
        value = getattr(module, attribute)
        if (
            not attribute.startswith("_")
            and isinstance(value, type)
            and issubclass(value, torch.optim.Optimizer)
            and value is not torch.optim.Optimizer
        ):
            names.append(f"torch:{module_name}.{attribute}")
    return sorted(names, key=str.lower)
