"""The built-in update rules, one module per family; importing this package registers them.

Every module in this package is imported, so adding a rule is adding a file (and a row to
``tests/optimizers/cases.py``).
"""

import importlib
import pkgutil

__all__ = sorted(module.name for module in pkgutil.iter_modules(__path__))

for _module in __all__:
    importlib.import_module(f"{__name__}.{_module}")
