#!/usr/bin/env python3
"""Run an OCA Odoo checker on the addon under its own name.

    scripts/odoo_lint.py pylint --rcfile=.pylintrc [FILE ...]
    scripts/odoo_lint.py oca-checks-odoo-module [FILE ...]

The repository root is the addon, and Odoo's tools take an addon's name from
its directory: a checkout called ``main`` would be linted as addon ``main``
(pylint-odoo's odoo-addons-relative-import then misses ``odoo.addons.
l10n_cn_einvoice`` imports), and oca-checks-odoo-module looks for manifests
only below the git top level, so it finds none at all in this repository and
passes silently. This script keeps a copy of the working tree's files (those git tracks or would add) in
``~/.cache/l10n_cn_einvoice/lint-<checkout hash>/l10n_cn_einvoice`` (outside
the checkout, so that no Odoo file walker sees it twice), with the Point of
Sale bridge ``l10n_cn_einvoice_pos/`` beside it as the addon of its own it is,
runs the checker there on the same files, and prints the findings with the
checkout's paths.
pre-commit (.pre-commit-config.yaml) and ``make lint`` call it.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDON = "l10n_cn_einvoice"
BRIDGES = ("l10n_cn_einvoice_pos",)    # addons of their own inside the checkout


def tracked_files():
    """The working tree's files as git sees them (tracked, and new ones it does not
    ignore, so that the manifest finds the files it names), or every file when this
    is not a git checkout."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, capture_output=True, check=True).stdout
        names = [name for name in out.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".odoo", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", "build", "dist"}
        names = [str(path.relative_to(ROOT)) for path in ROOT.rglob("*")
                 if path.is_file() and not skip & set(path.relative_to(ROOT).parts)]
    return sorted({name for name in names if (ROOT / name).is_file()})


def copy_path(name):
    """Where the copy holds the checkout's file ``name``: the bridges beside the addon."""
    first, _sep, rest = name.partition("/")
    return Path(name) if first in BRIDGES and rest else Path(ADDON) / name


def sync_copy():
    """Mirror the tracked files into the copy (an addons directory holding the addon and its
    bridges); only changed files are copied. Returns the addons directory."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha1(str(ROOT).encode(), usedforsecurity=False).hexdigest()[:12]
    addons = cache / ADDON / f"lint-{digest}"
    wanted = {str(copy_path(name)): name for name in tracked_files()}
    for target_name, name in wanted.items():
        source, target = ROOT / name, addons / target_name
        stat = source.stat()
        if target.is_file():
            current = target.stat()
            if current.st_size == stat.st_size and current.st_mtime_ns == stat.st_mtime_ns:
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    for path in sorted(addons.rglob("*"), reverse=True):
        relative = str(path.relative_to(addons))
        if path.is_file() and relative not in wanted and "__pycache__" not in path.parts:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return addons


def wanted_python(addons):
    return sorted(str(path.relative_to(addons)) for path in addons.rglob("*.py"))


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    tool, *args = argv
    if not shutil.which(tool):
        print(f"{tool} is not installed: run 'make setup' (it installs requirements-dev.txt).")
        return 1
    addons = sync_copy()
    files, options = [], []
    for arg in args:
        if not arg.startswith("-") and (ROOT / arg).exists():
            files.append(str(copy_path(arg)))
        elif arg.startswith("--rcfile=") or arg.startswith("--config="):
            key, value = arg.split("=", 1)
            options.append(f"{key}={(ROOT / value).resolve()}")
        else:
            options.append(arg)
    if not files:  # the whole addon and its bridges
        files = wanted_python(addons) if tool == "pylint" else [ADDON, *BRIDGES]
    copy = addons / ADDON
    if tool == "pylint":
        # relative paths inside the addon's copy (pylint names the modules l10n_cn_einvoice.*, and
        # .pylintrc's per-file-ignores name the addon's files so), ../<bridge>/... for a bridge's
        cmd = [tool, *options, *(os.path.relpath(addons / name, copy) for name in files)]
    else:
        cmd = [tool, *options, *(str(addons / name) for name in files)]
    proc = subprocess.run(cmd, cwd=copy, capture_output=True, text=True, check=False)
    # Findings name the copy: give them the checkout's paths again.
    output = proc.stdout + proc.stderr
    for prefix in (copy, addons):
        output = re.sub(rf"/?{re.escape(str(prefix).lstrip('/'))}/", "", output)
    output = re.sub(r"(?m)^\.\./", "", output)
    sys.stdout.write(output)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
