"""The report says whether seeds are paired across configurations (common random numbers)."""

import pandas as pd

from bench.grid.cell import RANDOM_STREAMS
from bench.report.writer import pairing


def test_a_store_with_common_random_numbers_is_called_paired():
    experiments = pd.DataFrame({"version.random_streams": [RANDOM_STREAMS, RANDOM_STREAMS]})
    assert pairing(experiments).startswith("common:") and RANDOM_STREAMS in pairing(experiments)


def test_a_store_from_before_common_random_numbers_is_called_unpaired():
    assert pairing(pd.DataFrame({"name": ["old"]})).startswith("unpaired:")
    mixed = pd.DataFrame({"version.random_streams": [RANDOM_STREAMS, None]})
    assert pairing(mixed).startswith("unpaired:")


def test_a_store_mixing_stream_schemes_is_called_unpaired():
    mixed = pd.DataFrame({"version.random_streams": ["common-1", RANDOM_STREAMS]})
    assert RANDOM_STREAMS != "common-1"
    assert pairing(mixed).startswith("unpaired:") and "common-1" in pairing(mixed)
