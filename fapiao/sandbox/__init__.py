"""``fapiao.sandbox``: the reference provider's sandbox (fapiao.providers.reference.sandbox), under the name
``python -m fapiao.sandbox`` and docs/sandbox.md give it."""

from ..providers.reference.sandbox import *  # noqa: F403  transitional: the models move to the registry
