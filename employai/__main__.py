import sys

from employai.cli.main import main

sys.exit(main())
