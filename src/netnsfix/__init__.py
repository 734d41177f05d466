"""netnsfix: turn a known distribution bug into a fixed, proven, installable package."""

__version__ = "0.1.0"
