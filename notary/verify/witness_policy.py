"""Witness policies: which witnesses must have cosigned a checkpoint, k of n, by tree size.

A trust file (``notary-trust/2``, docs/formats.md section 7) lists them as

    "witness_policies": [{"from_size", "until_size"?, "k",
                          "witnesses": [{"name", "cosigner_key"}]}]

A policy applies to checkpoints of sizes ``from_size``..``until_size`` inclusive (no upper
bound without ``until_size``). Checkpoints of a size no policy covers (sealed before the log
had witnesses) are judged without witnesses, and the answer says so (``not_required``).
Policies may not overlap: one size, one policy.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from notary.verify.cosignature import CosignerKey, parse_cosigner_key, verify_cosignatures
from notary.verify.errors import MalformedInput, VerificationError

__all__ = [
    "BELOW_POLICY",
    "MET",
    "NOT_CHECKED",
    "NOT_REQUIRED",
    "BadWitnessRequirement",
    "MalformedWitnessPolicy",
    "PolicyWitness",
    "WitnessOutcome",
    "WitnessPolicy",
    "WitnessPolicyNotMet",
    "WitnessRequirementUnmeetable",
    "judge_cosignatures",
    "parse_witness_policies",
    "policy_for",
    "witness_requirement",
]

MET, BELOW_POLICY, NOT_REQUIRED, NOT_CHECKED = "met", "below_policy", "not_required", "not_checked"
_MAX_SIZE = 2**64 - 1
_POLICY_FIELDS = frozenset({"from_size", "until_size", "k", "witnesses"})
_WITNESS_FIELDS = frozenset({"name", "cosigner_key"})


class MalformedWitnessPolicy(MalformedInput):
    """A ``witness_policies`` entry that is not ``{from_size, until_size?, k, witnesses}``."""

    code = "malformed_witness_policy"


class WitnessPolicyNotMet(VerificationError):
    """Fewer distinct witnesses of the covering policy cosigned the checkpoint than its k."""

    code = "witness_policy_not_met"


class BadWitnessRequirement(MalformedInput):
    """``--require-witnesses K`` (``require_witnesses``) that is not a positive integer."""

    code = "bad_witness_requirement"


class WitnessRequirementUnmeetable(MalformedInput):
    """``--require-witnesses K`` that no checkpoint could meet: K above the number of witnesses
    the trust file's policies list, or no witness policies to count against."""

    code = "witness_requirement_unmeetable"


@dataclass(frozen=True)
class PolicyWitness:
    """One witness a policy counts: its name and cosigner key (type 0x04)."""

    name: str
    key: CosignerKey

    def to_dict(self) -> dict[str, str]:
        """As in the trust file."""
        return {"name": self.name, "cosigner_key": self.key.text}


@dataclass(frozen=True)
class WitnessPolicy:
    """k of the ``witnesses`` must cosign a checkpoint of a size from ``from_size`` to ``until_size``."""

    from_size: int
    k: int
    witnesses: tuple[PolicyWitness, ...]
    until_size: int | None = None

    def __post_init__(self) -> None:
        if not self.witnesses:
            raise MalformedWitnessPolicy("a witness policy lists at least one witness")
        if isinstance(self.k, bool) or not isinstance(self.k, int) or not 1 <= self.k <= len(self.witnesses):
            raise MalformedWitnessPolicy(f"k must be 1 to the number of witnesses ({len(self.witnesses)})")
        names = [witness.name for witness in self.witnesses]
        keys = [witness.key.public_key for witness in self.witnesses]
        if len(set(names)) != len(names) or len(set(keys)) != len(keys):
            raise MalformedWitnessPolicy("a witness policy names each witness and each key once")
        if self.until_size is not None and self.until_size < self.from_size:
            raise MalformedWitnessPolicy("until_size is below from_size")

    @property
    def n(self) -> int:
        """How many witnesses the policy lists."""
        return len(self.witnesses)

    def covers(self, tree_size: int) -> bool:
        """Whether the policy applies to a checkpoint of ``tree_size``."""
        return self.from_size <= tree_size and (self.until_size is None or tree_size <= self.until_size)

    def keys(self) -> tuple[CosignerKey, ...]:
        """The witnesses' cosigner keys, in the policy's order."""
        return tuple(witness.key for witness in self.witnesses)

    def to_dict(self) -> dict[str, Any]:
        """As in the trust file."""
        entry: dict[str, Any] = {
            "from_size": self.from_size,
            "k": self.k,
            "witnesses": [witness.to_dict() for witness in self.witnesses],
        }
        if self.until_size is not None:
            entry["until_size"] = self.until_size
        return entry


def _size(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_SIZE:
        raise MalformedWitnessPolicy(f"{what} must be a tree size (an integer from 0 to 2**64-1)")
    return value


def _witness(value: object, what: str) -> PolicyWitness:
    if not isinstance(value, dict) or value.keys() != _WITNESS_FIELDS:
        raise MalformedWitnessPolicy(f"{what} must be exactly {{name, cosigner_key}}")
    name, text = value["name"], value["cosigner_key"]
    if not isinstance(name, str) or not isinstance(text, str):
        raise MalformedWitnessPolicy(f"{what}: name and cosigner_key must be strings")
    try:
        key = parse_cosigner_key(text)
    except MalformedInput as exc:
        raise MalformedWitnessPolicy(
            f"{what}.cosigner_key: {exc.message}", details={"code": exc.code}
        ) from exc
    if key.name != name:
        raise MalformedWitnessPolicy(f"{what}: the cosigner key is named {key.name!r}, not {name!r}")
    return PolicyWitness(name, key)


def _policy(value: object, index: int) -> WitnessPolicy:
    what = f"witness_policies[{index}]"
    if not isinstance(value, dict):
        raise MalformedWitnessPolicy(f"{what} must be an object")
    unknown = sorted(value.keys() - _POLICY_FIELDS)
    missing = sorted((_POLICY_FIELDS - {"until_size"}) - value.keys())
    if unknown or missing:
        raise MalformedWitnessPolicy(
            f"{what} must hold from_size, k, witnesses and optionally until_size",
            details={"unknown": unknown, "missing": missing},
        )
    witnesses = value["witnesses"]
    if not isinstance(witnesses, list) or not witnesses:
        raise MalformedWitnessPolicy(f"{what}.witnesses must be a non-empty list")
    until = value.get("until_size")
    try:
        return WitnessPolicy(
            from_size=_size(value["from_size"], f"{what}.from_size"),
            k=value["k"],
            witnesses=tuple(_witness(item, f"{what}.witnesses[{i}]") for i, item in enumerate(witnesses)),
            until_size=None if until is None else _size(until, f"{what}.until_size"),
        )
    except MalformedWitnessPolicy as exc:
        if exc.message.startswith(what):
            raise
        raise MalformedWitnessPolicy(f"{what}: {exc.message}", details=exc.details) from exc


def parse_witness_policies(value: object) -> tuple[WitnessPolicy, ...]:
    """Parse a trust file's ``witness_policies`` (a list, possibly empty).

    Raises :class:`MalformedWitnessPolicy` for a bad entry or two policies whose size ranges
    overlap.
    """
    if not isinstance(value, list):
        raise MalformedWitnessPolicy("witness_policies must be a list")
    policies = tuple(_policy(item, index) for index, item in enumerate(value))
    ordered = sorted(policies, key=lambda policy: policy.from_size)
    for earlier, later in itertools.pairwise(ordered):
        if earlier.until_size is None or earlier.until_size >= later.from_size:
            raise MalformedWitnessPolicy(
                "witness policies overlap: one tree size, one policy",
                details={"from_sizes": [earlier.from_size, later.from_size]},
            )
    return policies


def policy_for(policies: Iterable[WitnessPolicy], tree_size: int) -> WitnessPolicy | None:
    """The policy covering a checkpoint of ``tree_size``, or None."""
    return next((policy for policy in policies if policy.covers(tree_size)), None)


@dataclass(frozen=True)
class WitnessOutcome:
    """How a checkpoint stands against the witness policy (the report's ``witnesses`` facts)."""

    status: str
    k: int | None = None
    n: int | None = None
    cosigned_by: tuple[str, ...] = ()
    cosigned_at: tuple[int, ...] = ()
    policy: WitnessPolicy | None = None

    @property
    def met(self) -> bool:
        """True when the policy is met or none applies."""
        return self.status in (MET, NOT_REQUIRED)

    def to_dict(self) -> dict[str, Any]:
        """The report's ``witnesses`` object; ``policy`` names the trust file's policy that was
        applied by its size range (policies have no other name), null when none covers the size."""
        policy = self.policy
        return {
            "status": self.status,
            "k": self.k,
            "n": self.n,
            "cosigned_by": list(self.cosigned_by),
            "policy": None
            if policy is None
            else {"from_size": policy.from_size, "until_size": policy.until_size},
        }


def judge_cosignatures(
    note: bytes | str,
    tree_size: int,
    policies: Sequence[WitnessPolicy],
    *,
    require: int | None = None,
) -> WitnessOutcome:
    """Count the cosignatures on a checkpoint (already verified as the log's) against the
    policy covering its size, with ``require`` (``--require-witnesses``) raising the policy's k.

    Never raises for too few: the outcome says ``below_policy`` (its caller decides). Raises
    what :func:`~notary.verify.cosignature.verify_cosignatures` raises: a cosignature by a
    listed witness that does not verify is an altered checkpoint, not a missing cosignature.
    """
    policy = policy_for(policies, tree_size)
    if policy is None:
        if require:
            # Asked for witnesses where the trust file names none: nothing could meet that.
            return WitnessOutcome(BELOW_POLICY, k=require, n=0)
        return WitnessOutcome(NOT_REQUIRED)
    found = verify_cosignatures(note, policy.keys())
    k = max(policy.k, require or 0)
    status = MET if len(found) >= k else BELOW_POLICY
    return WitnessOutcome(
        status,
        k=k,
        n=policy.n,
        cosigned_by=tuple(item.name for item in found),
        cosigned_at=tuple(item.timestamp for item in found),
        policy=policy,
    )


#: A decimal K as typed (``--require-witnesses``, a form field): digits only, no sign, no spaces.
_DIGITS = frozenset("0123456789")


def witness_requirement(value: object, policies: Sequence[WitnessPolicy]) -> int:
    """``--require-witnesses K`` (an int, or its decimal digits as typed) checked against the
    trust file's ``policies``; K is at least the k counted, never less than a policy's own k.

    Raises :class:`BadWitnessRequirement` unless K is a positive integer, and
    :class:`WitnessRequirementUnmeetable` when no policy lists K witnesses (none at all
    included: a trust file without witness policies, or none chosen).
    """
    if isinstance(value, str) and value and set(value) <= _DIGITS and len(value) <= 18:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadWitnessRequirement(
            "the number of witnesses to require must be a positive integer (1, 2, ...)",
            details={"require_witnesses": str(value)[:32]},
        )
    most = max((policy.n for policy in policies), default=0)
    if value > most:
        raise WitnessRequirementUnmeetable(
            f"{value} witness cosignatures cannot be required: the trust file's policies list at most "
            f"{most} witness(es)" + ("" if most else " (give a notary-trust/2 file with witness_policies)"),
            details={"require_witnesses": value, "witnesses_listed": most},
        )
    return value
