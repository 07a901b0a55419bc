"""The report's table of optimizer state sizes, from each configuration the store ran."""

import json

import pandas as pd

import optimizers
from bench.report.state_sizes import UNKNOWN, state_size_table


def test_state_size_per_optimizer_and_configuration():
    runs = pd.DataFrame(
        {
            "optimizer": ["sgd", "adam", "adam", "adan", "not_importable_here"],
            "optimizer_params": [
                json.dumps({"lr": 0.1}),
                json.dumps({"lr": 0.01}),
                json.dumps({"lr": 0.01, "amsgrad": True}),
                "{}",
                "{}",
            ],
        }
    )
    table = state_size_table(runs).set_index("optimizer")
    assert list(table.index) == ["adam", "adan", "sgd", "not_importable_here"]
    assert table.loc["sgd"].tolist() == ["0", "0", "0"]
    assert table.loc["adam"].tolist() == ["2–3", "16–24", "8–12"]  # amsgrad keeps a third
    floats = optimizers.describe("adan").extra["state_floats_per_param"]
    assert table.loc["adan", "bytes (float64)"] == str(8 * floats)
    assert table.loc["not_importable_here"].tolist() == [UNKNOWN] * 3
