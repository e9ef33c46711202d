"""An embedded tax platform speaking the protocol of docs/protocol.md.

Run it with ``python -m fapiao.sandbox --help``, or in-process::

    with Sandbox(tmp_path / "sandbox.db") as sandbox:
        sandbox.url, sandbox.default_app

docs/sandbox.md describes the options, the admin endpoint and the
simulated behaviours (pending results, faults, the buyer's side).
"""

from .apps import DEFAULT_APP, App
from .platform import DEFAULT_QUOTA, Sandbox

__all__ = ["DEFAULT_APP", "DEFAULT_QUOTA", "App", "Sandbox"]
