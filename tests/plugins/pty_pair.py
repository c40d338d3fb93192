"""Real pseudo-terminals for serial tests.

`pty_pair` yields a `PtyPair`: bytes written with `.write()` go into the master side and
come out of the slave, which tests open by `.path` — a symlink to the slave device, the
way udev gives a USB adapter a stable name. `.unplug()` closes the master (readers of the
slave get EIO, like a pulled USB cable) and removes the symlink; `.replug()` creates a
fresh pty behind the same path.

    def test_x(pty_pair):
        master_fd, path = pty_pair   # also unpacks like a tuple
"""

from __future__ import annotations

import contextlib
import os
import select
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest


class PtyPair:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.master_fd: int | None = None
        self._slave_fd: int | None = None
        self.replug()

    @property
    def slave_name(self) -> str:
        assert self._slave_fd is not None
        return os.ttyname(self._slave_fd)

    def replug(self) -> None:
        """A new pty behind `path` (closes the old one if still open)."""
        self.unplug()
        master, slave = os.openpty()
        # raw at once: the default line discipline would echo, translate \r and buffer
        # lines before the reader's pyserial gets to configure the port
        tty.setraw(slave)
        tty.setraw(master)
        self.master_fd, self._slave_fd = master, slave
        os.symlink(os.ttyname(slave), self.path)

    def unplug(self) -> None:
        for fd in (self.master_fd, self._slave_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master_fd = self._slave_fd = None
        if self.path.is_symlink() or self.path.exists():
            self.path.unlink()

    def write(self, data: bytes, timeout: float = 5.0) -> None:
        """Write everything (the pty buffer is a few KiB: wait for the reader to drain it)."""
        assert self.master_fd is not None, "unplugged"
        view = memoryview(data)
        while view:
            _, writable, _ = select.select([], [self.master_fd], [], timeout)
            if not writable:
                raise TimeoutError("nobody is reading the pty")
            n = os.write(self.master_fd, view[:4096])
            view = view[n:]

    def close(self) -> None:
        self.unplug()

    def __iter__(self) -> Iterator:
        return iter((self.master_fd, str(self.path)))


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[PtyPair]:
    pair = PtyPair(tmp_path / "ttyCUSHION")
    try:
        yield pair
    finally:
        pair.close()
