"""Type stub for the cffi-built extension module."""

from typing import Any

ffi: Any
lib: Any
