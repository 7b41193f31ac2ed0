"""Leave at import time with SYSEXIT (replaced by the test: sys.exit(0), os._exit(0), ...)."""
import os
import sys

SYSEXIT
