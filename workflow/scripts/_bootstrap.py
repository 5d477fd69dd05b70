"""Make ``import avarep`` find the package beside this script, first: ahead of an installed
copy (an editable install of another checkout) and of Snakemake's own search paths."""

import sys
from pathlib import Path

WORKFLOW_DIR = str(Path(__file__).resolve().parents[1])
if WORKFLOW_DIR in sys.path:
    sys.path.remove(WORKFLOW_DIR)
sys.path.insert(0, WORKFLOW_DIR)
