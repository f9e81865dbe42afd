"""``notary monitor``: watches one notary, its mirrors and its witnesses, and raises the alarm.

Each round it reads the latest checkpoint from every source (the notary's ``/log/checkpoint``,
each mirror's, each witness's latest cosigned one), verifies each with the trust file's log
keys, and holds them all to one append-only history, kept in its own state file:

* ``bad_checkpoint``: a source serves a checkpoint that does not verify with the trusted keys;
* ``rollback``: the notary's latest checkpoint is smaller than one it already showed;
* ``fork``: two checkpoints of one size with different roots (a split view: different
  parties were shown different logs), or a consistency proof between two that fails;
* ``missing_cosignature``: the notary's latest checkpoint has stayed below the trust file's
  witness policy for longer than ``max_cosign_wait``.

An alarm is a log line (``ALARM <kind> ...`` at ERROR), a JSON ``POST`` to the webhook (once per
distinct alarm), and the exit status of ``--once`` (1 while any alarm condition holds).
Conflicting signed checkpoints are kept in the state file: together they prove the fork.
An unreachable source is logged, not an alarm: a notary that is gone is what mirrors are for.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notary.verify.encoding import hex_digest
from notary.verify.errors import NotaryError
from notary.verify.merkle import proofs as merkle
from notary.verify.note import Checkpoint, NoteVerifierKey, parse_checkpoint, verify_note
from notary.verify.payloads import format_time
from notary.verify.witness_policy import BELOW_POLICY, WitnessPolicy, judge_cosignatures
from notary.watch import fetch

log = logging.getLogger("notary.monitor")

FORK, ROLLBACK, BAD_CHECKPOINT, MISSING_COSIGNATURE = (
    "fork",
    "rollback",
    "bad_checkpoint",
    "missing_cosignature",
)
_SEEN_KEPT = 4096


@dataclass(frozen=True)
class TrustedLogKey:
    """A log key the monitor trusts for checkpoints of sizes ``from_size``..``until_size``."""

    origin: str
    key: NoteVerifierKey
    from_size: int = 0
    until_size: int | None = None


class UntrustedCheckpoint(NotaryError):
    """A checkpoint signed by a log key, but not one trusted for its origin and size."""

    code = "checkpoint_key_not_trusted"


def verify_trusted_checkpoint(text: str | bytes, log_keys: Sequence[TrustedLogKey]) -> Checkpoint:
    """The checkpoint of signed note ``text``, once a key trusted for its origin and size
    signed it. Raises what :func:`~notary.verify.note.verify_note` and
    :func:`~notary.verify.note.parse_checkpoint` raise, and :class:`UntrustedCheckpoint`."""
    note = verify_note(text, [key.key for key in log_keys])
    checkpoint = parse_checkpoint(note.text)
    signers = {(signature.name, signature.key_hash) for signature in note.verified}
    if not any(
        (key.key.name, key.key.key_hash) in signers
        and key.origin == checkpoint.origin
        and key.from_size <= checkpoint.size
        and (key.until_size is None or checkpoint.size <= key.until_size)
        for key in log_keys
    ):
        raise UntrustedCheckpoint(
            f"no key trusted for {checkpoint.origin} at size {checkpoint.size} signed it"
        )
    return checkpoint


@dataclass(frozen=True)
class Alarm:
    """One alarm: what, from which source, why, and the signed checkpoints that show it."""

    kind: str
    source: str
    message: str
    evidence: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """What makes two alarms the same (one webhook each)."""
        return f"{self.kind}|{self.source}|{'|'.join(self.evidence)}"

    def to_dict(self, at: str) -> dict[str, Any]:
        return {
            "alarm": self.kind,
            "source": self.source,
            "message": self.message,
            "evidence": list(self.evidence),
            "at": at,
        }


@dataclass
class Sources:
    """Where the monitor looks: the notary, mirrors (same routes) and witnesses (C2SP + extension)."""

    notary: str
    mirrors: Sequence[str] = ()
    witnesses: Sequence[str] = ()


@dataclass
class _State:
    origin: str | None = None
    size: int = 0
    root: str = ""
    note: str = ""
    seen: dict[str, str] = field(default_factory=dict)  # size -> root hex
    notes: dict[str, str] = field(default_factory=dict)  # size -> a signed checkpoint showing it
    below_since: str | None = None
    alarms: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> _State:
        if not path.exists():
            return cls()
        value = json.loads(path.read_text(encoding="utf-8"))
        return cls(**value)

    def save(self, path: Path) -> None:
        if len(self.seen) > _SEEN_KEPT:
            for size in sorted(self.seen, key=int)[: len(self.seen) - _SEEN_KEPT]:
                self.seen.pop(size, None)
                self.notes.pop(size, None)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.__dict__, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(temporary, path)


class Monitor:
    """One notary's watcher. ``round()`` looks once; :meth:`run` loops."""

    def __init__(
        self,
        sources: Sources,
        log_keys: Sequence[TrustedLogKey],
        policies: Sequence[WitnessPolicy],
        state_path: Path,
        *,
        clock: Callable[[], dt.datetime],
        max_cosign_wait: float = 600.0,
        webhook: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.sources = sources
        self.log_keys = tuple(log_keys)
        self.origins = {key.origin for key in self.log_keys}
        self.policies = tuple(policies)
        self.state_path = state_path
        self.clock = clock
        self.max_cosign_wait = dt.timedelta(seconds=max_cosign_wait)
        self.webhook = webhook
        self.timeout = timeout

    # -- one round ------------------------------------------------------------------------

    def round(self) -> list[Alarm]:
        """Look at every source once; returns the alarms that hold now (each logged, and
        posted to the webhook the first time it is seen)."""
        state = _State.load(self.state_path)
        alarms: list[Alarm] = []
        observed = self._observe(alarms)
        notary_checkpoint = None
        for source, text, checkpoint in observed:
            if source == "notary":
                notary_checkpoint = (text, checkpoint)
            self._hold(state, source, text, checkpoint, alarms)
        if notary_checkpoint is not None:
            self._cosignatures(state, *notary_checkpoint, alarms)
        self._raise(state, alarms)
        state.save(self.state_path)
        return alarms

    def _observe(self, alarms: list[Alarm]) -> list[tuple[str, str, Checkpoint]]:
        wanted: list[tuple[str, str]] = [
            ("notary", self.sources.notary.rstrip("/") + "/api/v1/log/checkpoint")
        ]
        wanted += [
            (f"mirror {url}", url.rstrip("/") + "/api/v1/log/checkpoint") for url in self.sources.mirrors
        ]
        observed = []
        for source, url in wanted:
            text = self._read(source, url)
            if text is not None:
                checkpoint = self._verified(source, text, alarms)
                if checkpoint is not None:
                    observed.append((source, text, checkpoint))
        for url in self.sources.witnesses:
            for origin in sorted(self.origins):
                text = self._read(
                    f"witness {url}", fetch.with_query(url.rstrip("/") + "/checkpoint", origin=origin)
                )
                if text is not None:
                    checkpoint = self._verified(f"witness {url}", text, alarms)
                    if checkpoint is not None:
                        observed.append((f"witness {url}", text, checkpoint))
        # The notary first: its view advances the history the others are held to.
        return observed

    def _read(self, source: str, url: str) -> str | None:
        try:
            return fetch.get(url, timeout=self.timeout).decode("utf-8")
        except (NotaryError, UnicodeDecodeError) as exc:
            log.warning("monitor: %s unreachable: %s", source, exc)
            return None

    def _verified(self, source: str, text: str, alarms: list[Alarm]) -> Checkpoint | None:
        try:
            return verify_trusted_checkpoint(text, self.log_keys)
        except NotaryError as exc:
            alarms.append(
                Alarm(BAD_CHECKPOINT, source, f"the checkpoint does not verify: {exc.message}", (text,))
            )
            return None

    def _proof(self, first: int, second: int) -> list[bytes] | None:
        for base in (self.sources.notary, *self.sources.mirrors):
            url = fetch.with_query(
                base.rstrip("/") + "/api/v1/log/proof/consistency", first=first, second=second
            )
            try:
                value = fetch.get_json(url, timeout=self.timeout)
                return [hex_digest(item, what="consistency proof hash") for item in value["hashes"]]
            except (NotaryError, KeyError, TypeError) as exc:
                log.warning("monitor: no consistency proof %s→%s from %s: %s", first, second, base, exc)
        return None

    def _hold(
        self, state: _State, source: str, text: str, checkpoint: Checkpoint, alarms: list[Alarm]
    ) -> None:
        """Hold one verified checkpoint to the history; advance it when consistent."""
        size, root = checkpoint.size, checkpoint.root_hash.hex()
        if state.origin is not None and checkpoint.origin != state.origin and checkpoint.size <= state.size:
            return  # a checkpoint of a rotated-away origin, older than what we hold
        earlier = state.seen.get(str(size))
        if earlier is not None and earlier != root:
            alarms.append(
                Alarm(
                    FORK, source, f"two roots for size {size}: a split view", (state.notes[str(size)], text)
                )
            )
            return
        if size < state.size:
            if source == "notary":
                alarms.append(
                    Alarm(
                        ROLLBACK,
                        source,
                        f"the notary's latest checkpoint is of size {size}, after it showed size {state.size}",
                        (state.note, text),
                    )
                )
            if not self._consistent(size, checkpoint.root_hash, state.size, bytes.fromhex(state.root)):
                alarms.append(
                    Alarm(
                        FORK,
                        source,
                        f"size {size} is not consistent with size {state.size}",
                        (text, state.note),
                    )
                )
            return
        consistent = (
            size <= state.size
            or state.size == 0
            or self._consistent(state.size, bytes.fromhex(state.root), size, checkpoint.root_hash)
        )
        if not consistent:
            alarms.append(
                Alarm(
                    FORK, source, f"size {size} is not consistent with size {state.size}", (state.note, text)
                )
            )
            return
        if size >= state.size:
            state.origin, state.size, state.root, state.note = checkpoint.origin, size, root, text
        state.seen[str(size)] = root
        state.notes.setdefault(str(size), text)

    def _consistent(self, size1: int, root1: bytes, size2: int, root2: bytes) -> bool:
        if size1 == 0:
            return True
        if size1 == size2:
            return root1 == root2
        proof = self._proof(size1, size2)
        if proof is None:
            return True  # nobody serves a proof: cannot judge; logged above
        try:
            merkle.verify_consistency(size1=size1, size2=size2, proof=proof, root1=root1, root2=root2)
        except NotaryError:
            return False
        return True

    def _cosignatures(self, state: _State, text: str, checkpoint: Checkpoint, alarms: list[Alarm]) -> None:
        if not self.policies:
            return
        now = self.clock()
        try:
            outcome = judge_cosignatures(text, checkpoint.size, self.policies)
        except NotaryError as exc:
            alarms.append(Alarm(BAD_CHECKPOINT, "notary", f"a cosignature does not verify: {exc}", (text,)))
            return
        if outcome.status != BELOW_POLICY:
            state.below_since = None
            return
        if state.below_since is None:
            state.below_since = format_time(now)
            return
        since = dt.datetime.fromisoformat(state.below_since.replace("Z", "+00:00"))
        if now - since > self.max_cosign_wait:
            alarms.append(
                Alarm(
                    MISSING_COSIGNATURE,
                    "notary",
                    f"the latest checkpoint has lacked {outcome.k} witness cosignatures since {state.below_since} "
                    f"(cosigned by {', '.join(outcome.cosigned_by) or 'none'})",
                )
            )

    def _raise(self, state: _State, alarms: list[Alarm]) -> None:
        known = {item["key"] for item in state.alarms}
        at = format_time(self.clock())
        for alarm in alarms:
            log.error("ALARM %s %s: %s", alarm.kind, alarm.source, alarm.message)
            if alarm.key in known:
                continue
            # Recorded once delivered, so a webhook that was down gets it on a later round.
            if self.webhook is None or self._post(alarm.to_dict(at)):
                known.add(alarm.key)
                state.alarms.append({"key": alarm.key, **alarm.to_dict(at)})

    def _post(self, body: dict[str, Any]) -> bool:
        assert self.webhook is not None
        request = urllib.request.Request(  # noqa: S310 - the operator's webhook URL
            self.webhook,
            data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout):  # noqa: S310
                return True
        except OSError as exc:
            log.warning("monitor: the webhook %s did not take the alarm: %s", self.webhook, exc)
            return False


def trust_for_monitor(data: bytes) -> tuple[list[TrustedLogKey], tuple[WitnessPolicy, ...]]:
    """The log keys and witness policies of a trust file (v1 or v2), as the monitor uses them.

    Raises :class:`~notary.verify.errors.MalformedInput` when it does not parse.
    """
    from notary.verify.errors import MalformedInput
    from notary.verify.note import parse_verifier_key
    from notary.verify.witness_policy import parse_witness_policies

    try:
        value = json.loads(data)
        logs = [
            TrustedLogKey(
                entry["origin"],
                parse_verifier_key(entry["verifier_key"]),
                entry["from_size"],
                entry.get("until_size"),
            )
            for entry in value["logs"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise MalformedInput(f"the trust file does not parse: {exc}") from exc
    if not logs:
        raise MalformedInput("the trust file lists no log key")
    return logs, parse_witness_policies(value.get("witness_policies", []))
