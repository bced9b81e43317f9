"""terra-cli: develop against Terra's Health & Fitness API from the terminal."""

__version__ = "0.1.0"
