#!/usr/bin/env bash
# make setup: prepare this machine to run and test the addon. Idempotent:
# every step checks first and only acts when something is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
BUILD="$ROOT/.odoo"                 # generated, git-ignored
# The directory holding the l10n_cn_einvoice symlink must be outside the
# checkout: inside it, the checkout would contain a link to itself, and
# Odoo's file walkers (translation export, tests) would loop.
ADDONS_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/l10n_cn_einvoice/addons-$(printf '%s' "$ROOT" | sha1sum | cut -c1-12)"
ODOO_UPSTREAM="https://github.com/odoo/odoo.git"

step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die()  { printf '\nSETUP FAILED: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        die "'$*' needs root; run it as root or install sudo"; fi
}

APT_UPDATED=0
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && { info "already installed: $*"; return 0; }
    command -v apt-get >/dev/null || die "missing system packages: ${missing[*]} (no apt-get here; install them by hand)"
    if [ "$APT_UPDATED" = 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
    info "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
        || die "apt-get could not install ${missing[*]}"
}

# ---------------------------------------------------------------------------
step "System packages (headers to build Odoo's Python dependencies, PDF and browser tools)"
apt_install libpq-dev libldap2-dev libsasl2-dev postgresql-client wkhtmltopdf fonts-noto-cjk
# Browser tests (Odoo tours) run in Debian's Chromium; without it Odoo would skip them.
apt_install chromium

# ---------------------------------------------------------------------------
step "PostgreSQL server"
if ! pg_isready -q 2>/dev/null; then
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
        info "no PostgreSQL cluster found: installing the server"
        apt_install postgresql
    fi
    ver="$(ls /etc/postgresql | sort -n | tail -1)"
    info "starting cluster $ver/main"
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null \
        || as_root pg_ctlcluster "$ver" main start \
        || die "could not start PostgreSQL $ver/main; start it by hand and run make setup again"
    for _ in $(seq 1 30); do pg_isready -q && break; sleep 1; done
    pg_isready -q || die "PostgreSQL does not answer on its local socket"
fi
info "PostgreSQL answers: $(pg_isready)"
ME="$(id -un)"
if ! psql -d postgres -Atc "select 1 from pg_roles where rolname='$ME'" 2>/dev/null | grep -q 1; then
    info "creating superuser role '$ME' (Odoo refuses to connect as 'postgres')"
    as_root su postgres -c "createuser -s '$ME'" || die "could not create the PostgreSQL role '$ME'"
else
    info "role '$ME' exists"
fi

# ---------------------------------------------------------------------------
step "Odoo 18.0"
odoo_version() { (cd / && "$PYTHON" -c "import odoo.release as r; print(r.version)" 2>/dev/null) || true; }
current="$(odoo_version)"
if [ "$current" = "18.0" ]; then
    info "Odoo 18.0 is importable: $(cd / && "$PYTHON" -c 'import odoo, os; print(os.path.dirname(odoo.__path__[0]))')"
    ODOO_SRC="$(cd / && "$PYTHON" -c 'import odoo, os; print(os.path.dirname(odoo.__path__[0]))')"
else
    [ -n "$current" ] && die "the Python '$PYTHON' imports Odoo $current, not 18.0; use another Python (PYTHON=...) or uninstall it"
    if [ -z "${ODOO_SRC:-}" ] && [ -f "$HOME/odoo-18.0/odoo/release.py" ]; then
        ODOO_SRC="$HOME/odoo-18.0"
        info "using the Odoo source found at $ODOO_SRC"
    fi
    if [ -z "${ODOO_SRC:-}" ]; then
        ODOO_SRC="$HOME/odoo-18.0"
        info "ODOO_SRC is not set: cloning the upstream 18.0 branch into $ODOO_SRC"
        git clone --depth 1 --branch 18.0 "$ODOO_UPSTREAM" "$ODOO_SRC" 2>&1 | tail -2 || true
        [ -f "$ODOO_SRC/odoo/release.py" ] || die "Odoo 18.0 is not importable and could not be cloned.
    Get an Odoo 18.0 community source tree by any means and run:
        ODOO_SRC=/path/to/odoo-18.0 make setup
    (make test would run only the pure-Python tests until then.)"
    fi
    grep -q "version_info = (18, 0" "$ODOO_SRC/odoo/release.py" \
        || die "$ODOO_SRC is not an Odoo 18.0 source tree (odoo/release.py)"
fi

# ---------------------------------------------------------------------------
step "Python packages (Odoo's requirements adjusted for Python 3.11 with cryptography>=42, then ours and our tools)"
mkdir -p "$BUILD"
# Odoo pins cryptography 3.4.8 on Python < 3.12, which has no SM4/SM3; use the
# set Odoo 18 itself uses on Python 3.12. cbor2 5.4.2 no longer builds. The OCA's
# po checks need polib 1.2 (same API as Odoo's 1.1.1): pip refuses the two pins together.
sed -E \
    -e 's/^polib==.*/polib==1.2.0/' \
    -e 's/^cbor2==[^;]*;.*/cbor2/' \
    -e 's/^cryptography==.*/cryptography==42.0.8/' \
    -e 's/^pyopenssl==.*/pyopenssl==24.1.0/' \
    -e 's/^urllib3==.*/urllib3==2.0.7/' \
    "$ODOO_SRC/requirements.txt" | awk '!seen[$0]++' > "$BUILD/odoo-requirements.txt"
if "$PYTHON" - "$BUILD/odoo-requirements.txt" "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" <<'PY'
import sys
from importlib import metadata
from packaging.requirements import Requirement
missing = []
for path in sys.argv[1:]:
    for line in open(path):
        line = line.split('#')[0].strip()
        if not line:
            continue
        req = Requirement(line)
        if req.marker and not req.marker.evaluate():
            continue
        try:
            if not req.specifier.contains(metadata.version(req.name), prereleases=True):
                missing.append(line)
        except metadata.PackageNotFoundError:
            missing.append(line)
sys.exit(1 if missing else 0)
PY
then
    info "all pinned packages already satisfied"
else
    info "pip install -r odoo-requirements.txt -r requirements.txt -r requirements-dev.txt (a few minutes the first time)"
    "$PYTHON" -m pip install -q --disable-pip-version-check \
        -r "$BUILD/odoo-requirements.txt" -r "$ROOT/requirements.txt" -r "$ROOT/requirements-dev.txt" \
        || die "pip could not install the Python packages (see above)"
fi
# Odoo goes in as an editable install in "compat" mode: its source directory on
# sys.path. setuptools' default editable mode imports it through a hook instead,
# and then any addon installed from a wheel (into site-packages/odoo/addons/,
# the OCA's way) turns `odoo` into an empty namespace package: Odoo no longer
# imports. Compat mode lets such wheels join odoo.addons.
odoo_on_sys_path() {
    (cd / && "$PYTHON" -c "import os, sys, odoo.release as r
src = os.path.dirname(os.path.dirname(r.__file__))
sys.exit(0 if src in [os.path.abspath(p or '.') for p in sys.path] else 1)") 2>/dev/null
}
if [ "$(odoo_version)" != "18.0" ] || ! odoo_on_sys_path; then
    [ "$(odoo_version)" = "18.0" ] && info "Odoo is imported through setuptools' editable hook, which addon wheels break"
    info "pip install -e $ODOO_SRC (editable, compat mode)"
    "$PYTHON" -m pip install -q --disable-pip-version-check --no-deps --use-pep517 \
        --config-settings editable_mode=compat -e "$ODOO_SRC" \
        || die "pip could not install Odoo from $ODOO_SRC"
fi
[ "$(odoo_version)" = "18.0" ] || die "Odoo 18.0 still does not import after installation"
odoo_on_sys_path || die "Odoo is still imported through an import hook; reinstall it with:
    $PYTHON -m pip install --no-deps --use-pep517 --config-settings editable_mode=compat -e $ODOO_SRC"
info "Odoo $(odoo_version) importable from $ODOO_SRC"

# ---------------------------------------------------------------------------
step "Addons path ($ADDONS_DIR: l10n_cn_einvoice -> this checkout, l10n_cn_einvoice_pos -> its Point of Sale bridge)"
mkdir -p "$ADDONS_DIR"
ln -sfn "$ROOT" "$ADDONS_DIR/l10n_cn_einvoice"
# The bridge to point_of_sale (installed automatically with both) lives in this repository too.
ln -sfn "$ROOT/l10n_cn_einvoice_pos" "$ADDONS_DIR/l10n_cn_einvoice_pos"
rm -rf "$BUILD/addons"   # the old in-checkout location, which made a symlink loop
cat > "$BUILD/odoo.conf" <<CONF
[options]
addons_path = $ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$ADDONS_DIR
data_dir = $BUILD/data
db_user = $ME
admin_passwd = admin
without_demo = False
CONF
info "wrote $BUILD/odoo.conf"

step "Setup complete. Next:"
info "make test     lint, the pure fapiao tests, the wheel and pytest-odoo checks, the Odoo tests"
info "make demo     a demo company issuing e-invoices on http://127.0.0.1:${DEMO_PORT:-8069} (DEMO_DB, DEMO_PORT)"
info "make lint     the OCA's checks (pre-commit run --all-files; pre-commit install runs them on commit)"
