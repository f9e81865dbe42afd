"""A witness's folder: its key, its configuration and its state, nothing else.

    DIR/witness.key    Ed25519 private key (PEM, mode 0600): the witness's identity
    DIR/witness.json   {"name": ..., "logs": [{"origin": ..., "verifier_keys": [...]}]}
    DIR/state.db       what it cosigned and the evidence it kept (state.py)

A log whose origin was rotated is listed under both origins (the tree continues: the
rotation checkpoint is cosigned under the old origin, the next ones under the new).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.signing.cosigner import Cosigner
from notary.verify.errors import MalformedInput
from notary.verify.note import NoteVerifierKey, parse_verifier_key
from notary.watch.witness.service import Witness
from notary.watch.witness.state import WitnessState

KEY, CONFIG, STATE = "witness.key", "witness.json", "state.db"


class WitnessFolderError(MalformedInput):
    """The witness folder is missing, incomplete or holds a configuration that does not parse."""

    code = "witness_folder_unusable"


@dataclass(frozen=True)
class WitnessFolder:
    """Paths of a witness's folder."""

    path: Path

    @property
    def key_path(self) -> Path:
        return self.path / KEY

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG

    @property
    def state_path(self) -> Path:
        return self.path / STATE

    def init(self, name: str) -> Cosigner:
        """Create the folder, key and empty configuration; refuses to replace an existing key.

        Raises :class:`WitnessFolderError` when a key is there already.
        """
        if self.key_path.exists():
            raise WitnessFolderError(f"{self.key_path} exists: a witness keeps its key")
        private_key = ed25519.Ed25519PrivateKey.generate()
        cosigner = Cosigner(name, private_key)  # checks the name before anything is written
        self.path.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)
        pem = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        descriptor = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        self._write_config({"name": name, "logs": []})
        WitnessState(self.state_path)
        return cosigner

    def config(self) -> dict[str, Any]:
        try:
            value = json.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise WitnessFolderError(f"cannot read {self.config_path}: {exc}") from exc
        if (
            not isinstance(value, dict)
            or not isinstance(value.get("name"), str)
            or not isinstance(value.get("logs"), list)
        ):
            raise WitnessFolderError(f"{self.config_path} must hold name and logs")
        return value

    def _write_config(self, value: dict[str, Any]) -> None:
        temporary = self.config_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(temporary, self.config_path)

    def add_log(self, origin: str, verifier_key: str) -> dict[str, Any]:
        """Trust ``verifier_key`` for checkpoints of ``origin`` (a note key, type 0x01).

        Raises :class:`WitnessFolderError` for a key that does not parse or is not named by
        the origin.
        """
        try:
            key = parse_verifier_key(verifier_key)
        except MalformedInput as exc:
            raise WitnessFolderError(f"the log key does not parse: {exc.message}") from exc
        if key.name != origin:
            raise WitnessFolderError(f"the log key is named {key.name!r}, not the origin {origin!r}")
        value = self.config()
        entry = next((item for item in value["logs"] if item.get("origin") == origin), None)
        if entry is None:
            entry = {"origin": origin, "verifier_keys": []}
            value["logs"].append(entry)
        if key.text not in entry["verifier_keys"]:
            entry["verifier_keys"].append(key.text)
        self._write_config(value)
        return value

    def cosigner(self) -> Cosigner:
        """The witness's cosigner; raises :class:`WitnessFolderError` when the key is unusable."""
        try:
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise WitnessFolderError(f"cannot read the witness key {self.key_path}: {exc}") from exc
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise WitnessFolderError(f"{self.key_path} is not an Ed25519 key")
        return Cosigner(self.config()["name"], key)

    def logs(self) -> dict[str, list[NoteVerifierKey]]:
        logs: dict[str, list[NoteVerifierKey]] = {}
        for entry in self.config()["logs"]:
            try:
                logs[entry["origin"]] = [parse_verifier_key(text) for text in entry["verifier_keys"]]
            except (KeyError, TypeError, MalformedInput) as exc:
                raise WitnessFolderError(f"{self.config_path}: a log entry does not parse") from exc
        return logs

    def witness(self, clock: Callable[[], dt.datetime]) -> Witness:
        """The witness this folder describes. Raises :class:`WitnessFolderError`."""
        if not self.state_path.exists():
            # A witness whose state vanished would cosign a rolled-back log: refuse to start.
            raise WitnessFolderError(
                f"{self.state_path} is missing: restore it from a backup (docs/witnesses.md) "
                "rather than start from nothing"
            )
        return Witness(self.cosigner(), self.logs(), WitnessState(self.state_path), clock)
