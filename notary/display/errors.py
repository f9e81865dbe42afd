"""The one error of the display forms."""

from __future__ import annotations

from notary.verify.errors import MalformedInput


class NotDerivable(MalformedInput):
    """A value has no derived form: it is not in the grammar the derivation reads.

    The value itself is still shown exactly as signed; only its readable companion is missing.
    ``details["value"]`` holds the value that could not be read.
    """

    code = "not_derivable"
