"""One package per tax platform; importing this registers them all (see fapiao.provider)."""

from . import nuonuo, reference
