"""Build hook for the optional native parsing core (``analyzer._native``, the Rust crate in
``native/``). Everything else is declared in pyproject.toml.

Without a Rust toolchain the extension is skipped and the pure-Python engine is installed
(setuptools-rust's ``optional=True``); with cargo on PATH it is built in release mode, also for
editable installs (a debug build of the regex engine would be slower than the Python one).
``MAILLENS_NO_NATIVE=1`` skips it even where cargo exists.
"""

import os

from setuptools import setup

rust_extensions = []
if os.environ.get("MAILLENS_NO_NATIVE", "") in ("", "0"):
    try:
        from setuptools_rust import Binding, RustExtension
    except ImportError:  # a build without the build-system requirements (python setup.py ...)
        pass
    else:
        rust_extensions.append(RustExtension("analyzer._native", path="native/Cargo.toml", binding=Binding.PyO3,
                                             py_limited_api=True, optional=True, debug=False))

setup(
    rust_extensions=rust_extensions,
    # abi3: one wheel per platform serves CPython 3.11 and later
    options={"bdist_wheel": {"py_limited_api": "cp311"}} if rust_extensions else {},
    zip_safe=False,
)
