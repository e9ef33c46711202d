"""``python -m fapiao.sandbox``, as documented: runs the reference provider's sandbox."""

import sys

from ..providers.reference.sandbox.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
