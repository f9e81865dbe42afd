"""Operators' log commands: ``notary log rotate-origin``."""

from __future__ import annotations

import click

from notary.cli.common import emit, operator_option, runtime_scope, shown


@click.group("log")
def log() -> None:
    """The transparency log's identity."""


@log.command("rotate-origin")
@click.argument("new_origin")
@click.option("--json", "as_json", is_flag=True)
@operator_option
def rotate_origin(new_origin: str, as_json: bool, operator: str) -> None:
    """Rotate the log's origin to NEW_ORIGIN, deliberately.

    Logs a notary-origin-rotation/1 leaf, signs the checkpoint that covers it under the old
    origin, and from then on signs under the new one; the tree continues. /trust keeps the old
    origin with the sizes it signed, so every bundle issued before keeps verifying. Recorded in
    the audit trail under --operator. Witnesses must be told of both origins (issue 21).
    """
    from notary.services.audit import trail as audit
    from notary.services.clock import now_text

    with runtime_scope() as rt, rt.db.write() as session:
        now = now_text(rt.clock)
        rotation = rt.origins.rotate(session, new_origin, now=now)
        audit.record(
            session,
            at=now,
            actor=audit.operator(operator),
            action="log.rotate_origin",
            object_kind="log",
            object_id=rotation.to_origin,
            details={
                "from_origin": rotation.from_origin,
                "to_origin": rotation.to_origin,
                "leaf_index": rotation.leaf_index,
                "tree_size": rotation.tree_size,
            },
        )
    emit(
        as_json,
        {
            "from_origin": rotation.from_origin,
            "to_origin": rotation.to_origin,
            "leaf_index": rotation.leaf_index,
            "tree_size": rotation.tree_size,
        },
        f"the log's origin is now {shown(rotation.to_origin)} (was {shown(rotation.from_origin)}); "
        f"rotation leaf {rotation.leaf_index}, last checkpoint under the old origin at size {rotation.tree_size}",
    )
