import sys

from evalgap.cli import main

sys.exit(main())
