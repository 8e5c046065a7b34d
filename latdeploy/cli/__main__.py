"""``python -m latdeploy.cli``."""

from latdeploy.cli import main

main()
