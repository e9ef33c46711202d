"""make bench: run every benchmark and write bench/RESULTS.md."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_odoo
import bench_protocol
import machine


def main():
    sections = [bench_protocol.run(), bench_odoo.run()]
    text = (
        "# Benchmark results\n\nWritten by `make bench`. Targets are met here, on this machine, "
        "never asserted in timed unit tests.\n\n## Machine\n\n" + machine.describe() + "\n"
        + "\n".join(sections)
    )
    (HERE / "RESULTS.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
