"""The built-in update rules; importing this package registers them."""

from optimizers.rules import adam, adaptive, sgd, sign

__all__ = ["adam", "adaptive", "sgd", "sign"]
