"""One table of (name, hyperparameters) drives the update-rule tests.

The second and later rows of a name switch on its options (momentum, dampening, nesterov,
weight decay, amsgrad, centered, lr_decay, ...), so every documented branch is exercised."""

CASES = [
    ("sgd", {"lr": 0.01}),
    ("sgd", {"lr": 0.01, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.01, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    ("momentum", {"lr": 0.01}),
    ("nesterov", {"lr": 0.01}),
    ("adagrad", {}),
    ("adagrad", {"lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("rmsprop", {}),
    ("rmsprop", {"momentum": 0.5}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"centered": True, "momentum": 0.9, "weight_decay": 0.01, "alpha": 0.9}),
    ("adadelta", {}),
    ("adadelta", {"weight_decay": 0.01, "rho": 0.95, "lr": 0.5}),
    ("adam", {}),
    ("adam", {"amsgrad": True, "weight_decay": 0.01, "lr": 0.01}),
    ("adam", {"decoupled_weight_decay": True, "weight_decay": 0.1, "betas": (0.8, 0.99)}),
    ("adamw", {}),
    ("adamw", {"amsgrad": True, "lr": 0.01}),
    ("amsgrad", {}),
    ("adamax", {}),
    ("adamax", {"weight_decay": 0.01, "betas": (0.5, 0.9)}),
    ("nadam", {}),
    ("nadam", {"weight_decay": 0.01, "momentum_decay": 0.01}),
    ("nadam", {"decoupled_weight_decay": True, "weight_decay": 0.01}),
    ("radam", {}),
    ("radam", {"weight_decay": 0.01, "betas": (0.9, 0.99)}),
    ("radam", {"decoupled_weight_decay": True, "weight_decay": 0.01}),
    ("rprop", {}),
    ("rprop", {"etas": (0.3, 1.5), "step_sizes": (1e-4, 0.1)}),
    ("lion", {}),
    ("lion", {"weight_decay": 0.1, "betas": (0.95, 0.98), "lr": 1e-3}),
    ("adafactor", {}),
    ("adafactor", {"weight_decay": 0.05, "d": 2.0, "eps": (1e-30, 1e-3), "beta2_decay": -0.5}),
    ("lamb", {}),
    ("lamb", {"weight_decay": 0.1, "lr": 0.01}),
    ("lamb", {"weight_decay": 0.01, "weight_decouple": False, "grad_averaging": False}),
    ("lamb", {"weight_decay": 0.01, "fixed_decay": True, "adam": True, "betas": (0.8, 0.99)}),
    ("lars", {}),
    ("lars", {"lr": 1.0, "weight_decay": 0.01, "trust_coefficient": 0.02}),
    ("lars", {"lr": 0.5, "weight_decay": 0.01, "nesterov": True, "dampening": 0.1}),
    ("lars", {"momentum": 0.0, "weight_decay": 0.1, "lr": 0.1}),
    ("adan", {}),
    ("adan", {"weight_decay": 0.02, "lr": 0.01}),
    ("adan", {"weight_decay": 0.02, "weight_decouple": True, "betas": (0.9, 0.9, 0.999)}),
]


def case_id(case):
    name, kw = case
    return name + ("-" + "-".join(f"{k}={v}" for k, v in kw.items()) if kw else "")
