"""One table of (name, constructor keywords) drives the contract and gradient tests.

Every registered problem appears at least once, at a small size so that the suite stays fast and
float64 so that finite differences are accurate; later rows of a name switch on its options
(gradient noise, every activation of the MLP)."""

CASES = [
    ("rosenbrock", {"dim": 2}),
    ("rosenbrock", {"dim": 5, "start_noise": 0.3, "noise": 0.5}),
    ("quadratic", {"dim": 6, "condition_number": 1e3, "start_noise": 0.1, "noise": 0.1}),
    ("rastrigin", {"dim": 3, "noise": 0.2}),
    ("beale", {"start_noise": 0.2, "noise": 0.1}),
    ("xor", {}),
    ("xor", {"hidden": 3, "activation": "sigmoid"}),
    ("spirals", {"points": 12, "hidden": 5}),
    ("spirals", {"points": 12, "hidden": 4, "activation": "relu", "noise": 0.05}),
    ("spirals", {"points": 12, "hidden": 4, "activation": "sigmoid"}),
    ("mnist_mlp", {"hidden": (6,), "dtype": "float64"}),
    ("mnist_mlp", {"hidden": (5, 4), "activation": "tanh", "dtype": "float64"}),
    ("mnist_mlp", {"hidden": 5, "activation": "sigmoid", "dtype": "float64"}),
    ("mnist_logreg", {"dtype": "float64"}),
    ("matrix_quadratic", {}),
    ("matrix_quadratic", {"rows": 3, "cols": 4, "start_noise": 0.2, "noise": 0.3}),
    ("noisy_quadratic", {"rows": 3, "cols": 4, "train_size": 30}),
    ("matrix_factorization", {"rows": 5, "cols": 4, "rank": 2}),
    ("deep_linear", {"dim": 3, "depth": 3}),
    ("deep_linear", {"dim": 2, "depth": 5, "condition_number": 100.0}),
]

IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]
