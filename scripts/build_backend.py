"""PEP 517 build backend: the OCA's whool, with the addon named l10n_cn_einvoice.

whool builds ``odoo-addon-<name>`` wheels that install the addon into the
``odoo.addons`` namespace, taking ``<name>`` from the directory it builds in.
This repository's root is the addon, so a checkout called anything else
(``main``, ``l10n_cn_einvoice-18.0``) would build ``odoo-addon-main``. This
backend hands whool the checkout through a link named ``l10n_cn_einvoice``;
everything else (files from ``git ls-files``, version from the manifest and git,
dependencies from the manifest's ``depends`` and ``external_dependencies``) is
whool's own, but for the Point of Sale bridge ``l10n_cn_einvoice_pos/``: an addon
of its own that lies in this repository, never part of this addon's wheel.
Editable installs are not offered: ``make setup`` puts the checkout on Odoo's
addons path instead.
"""

import contextlib
import shutil
import tempfile
from pathlib import Path

from whool import buildapi as _whool

ADDON = "l10n_cn_einvoice"
# Addons of their own kept in this repository: left out of this addon's wheel.
OTHER_ADDONS = ("l10n_cn_einvoice_pos",)
_whool_copy_to = _whool._copy_to


def _copy_to(addon_dir, dst):
    """whool's copy of the addon's files into the wheel, without the other addons."""
    _whool_copy_to(addon_dir, dst)
    for name in OTHER_ADDONS:
        shutil.rmtree(Path(dst) / name, ignore_errors=True)


_whool._copy_to = _copy_to


@contextlib.contextmanager
def _addon_dir():
    """The directory to build from, named after the addon."""
    here = Path.cwd()
    if here.name == ADDON or (here / "PKG-INFO").is_file():  # a proper checkout, or an sdist
        yield here
        return
    with tempfile.TemporaryDirectory(prefix="whool-") as tmp:
        link = Path(tmp) / ADDON
        link.symlink_to(here, target_is_directory=True)
        yield link


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with _addon_dir() as addon_dir:
        return _whool._build_wheel(addon_dir, Path(wheel_directory), editable=False)


def build_sdist(sdist_directory, config_settings=None):
    with _addon_dir() as addon_dir:
        return _whool._build_sdist(addon_dir, Path(sdist_directory))


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    with _addon_dir() as addon_dir:
        return _whool._make_dist_info(_whool._get_metadata(addon_dir), Path(metadata_directory))
