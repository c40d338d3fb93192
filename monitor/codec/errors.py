"""The one exception the codecs raise (only from the single-payload functions).

Streaming decoders never raise on input: they count each rejected packet or line in a
`DropCounter` under the same `reason` a `CodecError` would carry.
"""

from __future__ import annotations


class CodecError(ValueError):
    """A payload that cannot be decoded; `reason` is a short drop-counter key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
