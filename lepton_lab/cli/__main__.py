"""``python -m lepton_lab.cli``: the same as the ``lepton-lab`` command."""

import sys

from lepton_lab.cli import main

sys.exit(main())
