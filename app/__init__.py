"""Celsiusify: a stateless Fahrenheit-to-Celsius conversion service."""

__version__ = "1.0.0"
