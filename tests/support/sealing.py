"""A contract taken through the service to sealed, timestamped and in a checkpoint, for the
tests that need its evidence or certificate."""

from __future__ import annotations

from typing import Any

from notary.runtime import Runtime
from tests.support.people import Person
from tests.support.platforms import PlatformClient, sign_body


def ready_contract(
    platform: PlatformClient, investor: Person, borrower: Person, runtime: Runtime, client: Any, **terms: Any
) -> str:
    """File a contract (title 个人借款合同 unless ``terms`` say otherwise), have both parties
    sign it and seal it; its id."""
    filed = platform.file(investor, borrower, **{"title": "个人借款合同", **terms})
    for role, person in (("investor", investor), ("borrower", borrower)):
        client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
        )
    runtime.sequencer.seal_pending()
    return str(filed["contract_id"])


def sealed(runtime: Runtime) -> None:
    """Seal, timestamp and checkpoint everything pending, as the worker's chores would."""
    runtime.sequencer.seal_pending()
    runtime.stamper.stamp_records()
    runtime.checkpointer.run_once()
    runtime.stamper.stamp_checkpoints()
