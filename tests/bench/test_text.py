"""The shared text helpers: seconds and percentages for tables, errors on one line, name hints."""

import math

import numpy as np
import pytest

from bench.text import closest, format_percent, format_seconds, one_line


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2.5, "2.5 s"),
        (0.00123, "1.23 ms"),
        (4.56e-6, "4.56 us"),
        (7e-9, "7 ns"),
        (np.float64(0.5), "500 ms"),
        (None, "-"),
        (math.nan, "-"),
        (math.inf, "-"),
    ],
)
def test_format_seconds(value, text):
    assert format_seconds(value) == text


@pytest.mark.parametrize(
    ("value", "text"), [(0.125, "12%"), (1.0, "100%"), (np.float32(0.5), "50%"), (None, "-")]
)
def test_format_percent(value, text):
    assert format_percent(value) == text
    assert format_percent(math.nan) == "-"


class UnprintableError(Exception):
    def __str__(self):
        raise RuntimeError("no message")


def test_one_line_joins_lines_and_falls_back_to_the_type_name():
    assert one_line(ValueError("bad\n  value\tthere")) == "bad value there"
    assert one_line(KeyError()) == "KeyError"
    assert one_line(UnprintableError()) == "UnprintableError"


def test_closest_suggests_near_names_or_lists_them_all():
    assert closest("adma", ["sgd", "adam", "adamw"]) == " (did you mean 'adam', 'adamw'?)"
    assert closest("zzz", ["sgd", "adam"]) == " (valid: adam, sgd)"


def test_format_percent_shows_the_given_placeholder_for_missing_values():
    assert format_percent(None, missing="–") == "–" and format_percent(0.5, missing="–") == "50%"
