"""``python -m notary.cli``: the same as the ``notary`` command."""

from notary.cli import main

main()
