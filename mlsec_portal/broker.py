"""The embedded broker (`mlsecfs://`): kombu's file-system transport with atomic writes.

kombu's own `_put` creates a message file under its final name and then writes it, while `_get`
moves and reads matching files without taking the lock; a consumer polling at that moment reads a
half-written message, fails to decode it and the message is lost (seen here: one of two runs
queued together never reached the worker). Writing to a hidden temporary file and renaming it into
place makes a message visible only once complete. Production uses Redis; this serves `make demo`.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from time import monotonic

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

ALIAS = "mlsecfs"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        # ".incoming-…" never matches "<queue>.msg", so consumers ignore it until the rename.
        fd, temporary = tempfile.mkstemp(dir=self.data_folder_out, prefix=".incoming-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(temporary, os.path.join(self.data_folder_out, name))
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> None:
    TRANSPORT_ALIASES.setdefault(ALIAS, "mlsec_portal.broker:Transport")
