"""The conversion itself: plain functions that know nothing of HTTP.

celsius = (fahrenheit - 32) * 5 / 9, rendered with exactly six decimals.
The domain is bounded below by absolute zero and above by the largest value
whose intermediate product stays finite, so every accepted input converts.
"""

from __future__ import annotations

import math
import sys

ABSOLUTE_ZERO_FAHRENHEIT = -459.67
# (f - 32) * 5 must stay finite: beyond this the product overflows to inf.
MAX_FAHRENHEIT = sys.float_info.max / 5
DECIMALS = 6


class ConversionError(ValueError):
    """A value that cannot be converted; the message says why."""


def check_fahrenheit(value: float) -> float:
    """Return value unchanged if it is inside the domain, else raise ConversionError."""
    if math.isnan(value):
        raise ConversionError("must be a number, not NaN")
    if math.isinf(value):
        raise ConversionError("must be finite")
    if value < ABSOLUTE_ZERO_FAHRENHEIT:
        raise ConversionError(f"must be at or above absolute zero ({ABSOLUTE_ZERO_FAHRENHEIT} °F)")
    if value > MAX_FAHRENHEIT:
        raise ConversionError(f"must be at most {MAX_FAHRENHEIT:.6g} °F")
    return value


def fahrenheit_to_celsius(fahrenheit: float) -> float:
    """Exact formula, no bounds check (see check_fahrenheit)."""
    return (fahrenheit - 32.0) * 5.0 / 9.0


def celsius_to_fahrenheit(celsius: float) -> float:
    """The inverse formula, used by the tests and by clients checking answers."""
    return celsius * 9.0 / 5.0 + 32.0


def format_celsius(celsius: float) -> str:
    """Six decimals; a negative zero ("-0.000000") is shown as "0.000000"."""
    text = f"{celsius:.{DECIMALS}f}"
    if text == "-0.000000":
        return "0.000000"
    return text


def convert(fahrenheit: float) -> str:
    """Checked conversion to the six-decimal string the API returns."""
    return format_celsius(fahrenheit_to_celsius(check_fahrenheit(fahrenheit)))
