"""The one place uvffi's version lives."""

__version__ = "0.1.0"
LIBUV_PIN = "1.52.1"
