"""amops — the Access Management platform's runbooks, as a command you can run."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("amops")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
