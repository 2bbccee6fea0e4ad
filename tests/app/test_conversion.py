"""The conversion as plain functions: fixed points and properties."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.conversion import (
    ABSOLUTE_ZERO_FAHRENHEIT,
    MAX_FAHRENHEIT,
    ConversionError,
    celsius_to_fahrenheit,
    check_fahrenheit,
    convert,
    fahrenheit_to_celsius,
)

SIX_DECIMALS = re.compile(r"^-?\d+\.\d{6}$")
domain = st.floats(min_value=ABSOLUTE_ZERO_FAHRENHEIT, max_value=1e12, allow_nan=False)
full_domain = st.floats(min_value=ABSOLUTE_ZERO_FAHRENHEIT, max_value=MAX_FAHRENHEIT)


@pytest.mark.parametrize(
    ("fahrenheit", "celsius"),
    [
        (-40, "-40.000000"),
        (32, "0.000000"),
        (212, "100.000000"),
        (98.6, "37.000000"),
        (ABSOLUTE_ZERO_FAHRENHEIT, "-273.150000"),
        (0, "-17.777778"),
        (32.0000001, "0.000000"),
        (31.9999999, "0.000000"),  # -0.0000000556 rounds to zero: no "-0.000000"
    ],
)
def test_fixed_points(fahrenheit: float, celsius: str) -> None:
    assert convert(fahrenheit) == celsius


@given(domain, domain)
def test_monotonic(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert fahrenheit_to_celsius(low) <= fahrenheit_to_celsius(high)


@given(domain)
def test_inverse_round_trips(fahrenheit: float) -> None:
    back = celsius_to_fahrenheit(fahrenheit_to_celsius(fahrenheit))
    assert math.isclose(back, fahrenheit, rel_tol=1e-12, abs_tol=1e-9)


@given(full_domain)
def test_output_always_six_decimals(fahrenheit: float) -> None:
    assert SIX_DECIMALS.match(convert(fahrenheit))


@given(full_domain)
def test_every_accepted_value_converts_to_a_finite_number(fahrenheit: float) -> None:
    assert math.isfinite(fahrenheit_to_celsius(check_fahrenheit(fahrenheit)))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.nan, "NaN"),
        (math.inf, "finite"),
        (-math.inf, "finite"),
        (-459.68, "absolute zero"),
        (MAX_FAHRENHEIT * 1.0001, "at most"),
    ],
)
def test_out_of_domain_values_are_refused(value: float, message: str) -> None:
    with pytest.raises(ConversionError, match=message):
        convert(value)
