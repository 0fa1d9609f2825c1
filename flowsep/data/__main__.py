"""``python -m flowsep.data KIND ROOT OUT``: write a clip manifest from a local dataset copy."""

from .readers import main

main()
