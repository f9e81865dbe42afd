"""The ``witness_cosignatures`` check: enough of the policy's witnesses cosigned the bundle's
checkpoint (docs/formats.md section 8; the policy comes from the trust file, section 7).

It runs only with a trust file (the bundle's own keys cannot say who the witnesses are) and
after ``checkpoint_signature`` passed: cosignatures on a checkpoint the log did not sign mean
nothing. A checkpoint of a size no policy covers passes as ``not_required`` and says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from notary.verify.errors import NotaryError
from notary.verify.evidence.bundle import CHECKPOINT, EvidenceBundle
from notary.verify.evidence.checks import Passed, member
from notary.verify.witness_policy import (
    BELOW_POLICY,
    MET,
    NOT_REQUIRED,
    WitnessOutcome,
    WitnessPolicy,
    WitnessPolicyNotMet,
    judge_cosignatures,
)

__all__ = ["check_witness_cosignatures"]


def check_witness_cosignatures(
    bundle: EvidenceBundle,
    tree_size: int,
    policies: Sequence[WitnessPolicy],
    *,
    require: int | None = None,
    newer: tuple[str | bytes, int] | None = None,
) -> Passed[WitnessOutcome]:
    """Count the cosignatures on ``log/checkpoint.txt`` (a checkpoint of ``tree_size`` whose
    log signature already verified) against the policy covering that size, ``require``
    (``--require-witnesses``) raising its k. The passed value is the :class:`WitnessOutcome`.

    ``newer`` is a newer checkpoint (its signed note and size) that the ``consistency`` check
    showed to extend the bundle's tree: when the bundle's own checkpoint has too few
    cosignatures, enough on the newer one meet the policy too (a witness cosigns only a tree
    consistent with every one it cosigned before, and the proof makes the bundle's tree a
    prefix of it). That is how a certificate PDF, whose checkpoint can never gain
    cosignatures, or an early bundle meets the policy with ``--online``. A newer checkpoint
    whose cosignatures do not verify is not counted.

    Raises :class:`WitnessPolicyNotMet` (fewer than k; its details are the report's
    ``witnesses`` facts) and what :func:`~notary.verify.cosignature.verify_cosignatures`
    raises for a cosignature by a listed witness that does not verify.
    """
    outcome = judge_cosignatures(member(bundle, CHECKPOINT), tree_size, policies, require=require)
    if outcome.status == BELOW_POLICY and newer is not None:
        note, newer_size = newer
        try:
            later = judge_cosignatures(note, newer_size, policies, require=require)
        except NotaryError:
            later = None  # not counted; the bundle's own count stands
        if later is not None and later.status == MET:
            return Passed(
                f"{len(later.cosigned_by)} of {later.n} witnesses cosigned the newer checkpoint of size "
                f"{newer_size}, which the consistency proof shows extends the bundle's tree of size "
                f"{tree_size} (at least {later.k} required): " + ", ".join(later.cosigned_by),
                {**later.to_dict(), "cosigned_checkpoint_size": newer_size},
                later,
            )
    if outcome.status == BELOW_POLICY:
        named = ", ".join(outcome.cosigned_by) or "none"
        if outcome.policy is None:
            raise WitnessPolicyNotMet(
                f"{require} witness cosignatures were required, but no witness policy of the trust file "
                f"covers a checkpoint of size {tree_size} (it was sealed before the log had witnesses)",
                details=outcome.to_dict(),
            )
        raise WitnessPolicyNotMet(
            f"{len(outcome.cosigned_by)} of the {outcome.k} witness cosignatures required are on the "
            f"checkpoint of size {tree_size} (cosigned by: {named}); fetch the bundle again once it "
            "is cosigned, or verify with --online",
            details=outcome.to_dict(),
        )
    if outcome.status == NOT_REQUIRED:
        return Passed(
            f"no witness policy covers a checkpoint of size {tree_size}: sealed before the log had "
            "witnesses, judged without them",
            outcome.to_dict(),
            outcome,
        )
    return Passed(
        f"{len(outcome.cosigned_by)} of {outcome.n} witnesses cosigned (at least {outcome.k} required): "
        + ", ".join(outcome.cosigned_by),
        outcome.to_dict(),
        outcome,
    )
