"""``python -m ha_inference.tools <command>``: the ``ha-inference`` command without the script."""

import sys

from ha_inference.tools.cli import main

sys.exit(main())
