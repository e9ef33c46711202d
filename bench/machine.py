"""Describe the machine a benchmark ran on, for bench/RESULTS.md."""

import os
import platform
import ssl
import subprocess
import sys
from datetime import datetime, timezone

import cryptography
from cryptography.hazmat.backends.openssl.backend import backend as openssl_backend


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory():
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            kib = int(handle.readline().split()[1])
        return f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


def describe():
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            check=False).stdout.strip()
    return (
        f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit or 'n/a'}\n"
        f"- CPU: {_cpu_model()}, {os.cpu_count()} cores; memory {_memory()}\n"
        f"- OS: {platform.platform()}\n"
        f"- Python {sys.version.split()[0]}; cryptography {cryptography.__version__} with "
        f"{openssl_backend.openssl_version_text()} (SM4/SM3); stdlib ssl {ssl.OPENSSL_VERSION}\n"
    )
