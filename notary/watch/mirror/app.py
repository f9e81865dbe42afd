"""The mirror's read routes: the notary's public log routes, answered from what the mirror
checked, so people can verify without asking the operator, and after the notary is gone.

    GET /api/v1/log/checkpoint                    the latest checkpoint the mirror checked
    GET /api/v1/log/checkpoints/{size}            one of them
    GET /api/v1/log/checkpoints?after=S           the ones above a size (a mirror may follow a mirror)
    GET /api/v1/log/proof/inclusion?leaf_index&tree_size
    GET /api/v1/log/proof/consistency?first&second
    GET /api/v1/log/leaf-hashes?start&count
    GET /api/v1/r/{record_sha256}                 where a record is, proven against the latest checkpoint
    GET /api/v1/mirror                            upstream, size, last sync, alarms
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

from notary.verify.merkle.plan import consistency_proof_plan, inclusion_proof_plan
from notary.watch.mirror.store import MirrorStore

TEXT = "text/plain; charset=utf-8"


def create_mirror_app(folder: str | Path | None = None) -> Flask:
    """The mirror app for ``folder`` (default ``$NOTARY_MIRROR_DIR``)."""
    path = Path(folder or os.environ["NOTARY_MIRROR_DIR"])
    return mirror_app(MirrorStore(path / "mirror.db"))


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value, ensure_ascii=False), status=status, content_type="application/json")


def _error(status: int, code: str, message: str) -> Response:
    return _json({"error": {"code": code, "message": message}}, status)


def _int(name: str, default: int | None = None) -> int:
    value = request.args.get(name)
    if value is None:
        if default is None:
            raise ValueError(name)
        return default
    number = int(value)
    if number < -1:
        raise ValueError(name)
    return number


def mirror_app(store: MirrorStore) -> Flask:
    app = Flask("notary.watch.mirror")

    @app.errorhandler(ValueError)
    def bad_query(exc: ValueError) -> Response:
        return _error(422, "validation_failed", f"bad or missing query parameter: {exc}")

    def note_response(note: str) -> Response:
        return Response(note, content_type=TEXT, headers={"Cache-Control": "no-cache"})

    @app.get("/api/v1/log/checkpoint")
    def latest() -> Response:
        with store.reading() as connection:
            held = store.latest(connection)
        if held is None:
            return _error(404, "not_found", "no checkpoint mirrored yet")
        return note_response(held[2])

    @app.get("/api/v1/log/checkpoints/<int:tree_size>")
    def one(tree_size: int) -> Response:
        with store.reading() as connection:
            row = connection.execute(
                "SELECT note FROM checkpoints WHERE tree_size = ?", (tree_size,)
            ).fetchone()
        if row is None:
            return _error(404, "not_found", f"no checkpoint of size {tree_size} mirrored")
        return note_response(row[0])

    @app.get("/api/v1/log/checkpoints")
    def after() -> Response:
        start, limit = _int("after", -1), min(max(_int("limit", 100), 1), 100)
        with store.reading() as connection:
            rows = connection.execute(
                "SELECT tree_size, note FROM checkpoints WHERE tree_size > ? ORDER BY tree_size LIMIT ?",
                (start, limit),
            ).fetchall()
        return _json({"checkpoints": [{"tree_size": size, "checkpoint": note} for size, note in rows]})

    def size_now() -> int:
        with store.reading() as connection:
            return store.size(connection)

    @app.get("/api/v1/log/proof/inclusion")
    def inclusion() -> Response:
        index, tree_size = _int("leaf_index"), _int("tree_size")
        if not 0 < tree_size <= size_now() or not 0 <= index < tree_size:
            return _error(
                422, "validation_failed", "leaf_index must be below tree_size, within the mirror's tree"
            )
        plan = inclusion_proof_plan(index, tree_size)
        with store.reading() as connection:
            hashes = plan.assemble(store.nodes(connection, plan.nodes))
        return _json({"leaf_index": index, "tree_size": tree_size, "hashes": [h.hex() for h in hashes]})

    @app.get("/api/v1/log/proof/consistency")
    def consistency() -> Response:
        first, second = _int("first"), _int("second")
        if not 0 < first <= second <= size_now():
            return _error(422, "validation_failed", "0 < first <= second <= the mirror's tree size")
        plan = consistency_proof_plan(first, second)
        with store.reading() as connection:
            hashes = plan.assemble(store.nodes(connection, plan.nodes))
        return _json({"first": first, "second": second, "hashes": [h.hex() for h in hashes]})

    @app.get("/api/v1/log/leaf-hashes")
    def leaf_hashes() -> Response:
        start, count = _int("start"), min(max(_int("count", 1000), 1), 1000)
        with store.reading() as connection:
            rows = connection.execute(
                "SELECT l.idx, n.hash, l.record_sha256 FROM leaves l JOIN nodes n ON n.level = 0 AND n.idx = l.idx "
                "WHERE l.idx >= ? ORDER BY l.idx LIMIT ?",
                (start, count),
            ).fetchall()
        if not rows or rows[0][0] != start:
            return _error(422, "validation_failed", "start must be below the mirror's tree size")
        return _json(
            {
                "start": start,
                "leaf_hashes": [row[1].hex() for row in rows],
                "record_sha256": [row[2] for row in rows],
            }
        )

    @app.get("/api/v1/r/<record_sha256>")
    def presence(record_sha256: str) -> Response:
        with store.reading() as connection:
            leaf = connection.execute(
                "SELECT idx FROM leaves WHERE record_sha256 = ?", (record_sha256.lower(),)
            ).fetchone()
            held = store.latest(connection)
            if leaf is None:
                return _error(404, "not_found", "no record with that SHA-256 is in the mirrored log")
            if held is None or held[0] <= leaf[0]:
                return _error(409, "evidence_not_ready", "no mirrored checkpoint covers that record yet")
            plan = inclusion_proof_plan(leaf[0], held[0])
            hashes = plan.assemble(store.nodes(connection, plan.nodes))
        return _json(
            {
                "record_sha256": record_sha256.lower(),
                "leaf_index": leaf[0],
                "tree_size": held[0],
                "hashes": [h.hex() for h in hashes],
                "checkpoint": held[2],
            }
        )

    @app.get("/api/v1/mirror")
    def status() -> Response:
        return _json(
            {
                "upstream": store.meta("upstream"),
                "tree_size": size_now(),
                "last_sync": store.meta("last_sync"),
                "alarms": store.alarms(),
            }
        )

    @app.get("/api/v1/trust")
    def trust() -> Response:
        # The trust file this mirror checks with, as its operator gave it: keep your own copy
        # from a source you trust; this one is a convenience.
        value = store.meta("trust")
        if value is None:
            return _error(404, "not_found", "no trust file")
        return Response(value, content_type="application/json")

    return app
