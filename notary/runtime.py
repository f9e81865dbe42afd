"""The objects a process needs, built once from settings: database, keys, blob store, services.

The app factory and the command line both build a :class:`Runtime`; nothing here is built at
import time, and a forked process builds its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from notary.config import Settings
from notary.services.ceremony import Ceremony
from notary.services.checkpoints import Checkpointer
from notary.services.clock import Clock, system_clock
from notary.services.filing import FilingService
from notary.services.identity import PiiCipher
from notary.services.sequencer import Sequencer
from notary.signing.keystore import InstanceKeys, load_keys
from notary.signing.note_signer import NoteSigner
from notary.storage.blobs import BlobStore, make_blob_store
from notary.storage.db import Database
from notary.storage.tree import TreeSink


@dataclass
class Runtime:
    """Everything wired together for one process."""

    settings: Settings
    clock: Clock = field(default=system_clock)

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.effective_database_url)

    @cached_property
    def keys(self) -> InstanceKeys:
        """The instance's keys; raises ``KeysUnusable`` when they are missing or damaged."""
        return load_keys(self.settings.key_dir)

    @cached_property
    def blobs(self) -> BlobStore:
        return make_blob_store(self.settings.blob_store, self.settings.blob_dir)

    @cached_property
    def pii(self) -> PiiCipher:
        return PiiCipher(self.keys.pii_encryption_key, self.keys.pii_lookup_key)

    @cached_property
    def filing(self) -> FilingService:
        return FilingService(self.db, self.blobs, self.clock, self.settings)

    @cached_property
    def ceremony(self) -> Ceremony:
        return Ceremony(self.db, self.clock)

    @cached_property
    def sequencer(self) -> Sequencer:
        return Sequencer(self.db, self.clock, sinks=[TreeSink()])

    @cached_property
    def log_signer(self) -> NoteSigner:
        """Signs checkpoints as the log's origin with the log key."""
        return NoteSigner(self.settings.effective_log_origin, self.keys.log_key)

    @cached_property
    def checkpointer(self) -> Checkpointer:
        return Checkpointer(
            self.db, self.log_signer, interval=self.settings.checkpoint_interval, clock=self.clock
        )

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
