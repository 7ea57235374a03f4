import sys

from graf.cli import main

sys.exit(main())
