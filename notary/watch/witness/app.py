"""The witness's HTTP interface (C2SP tlog-witness), one WSGI app:

    POST /add-checkpoint                  the C2SP call (submission prefix = the root)
    GET  /checkpoint?origin=ORIGIN        extension: the latest cosigned checkpoint of a log
    GET  /evidence                        extension: the refused checkpoints kept as evidence
    GET  /                                the witness's name, cosigner key and logs

Run it with ``notary witness serve`` (gunicorn) or any WSGI server.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path

from flask import Flask, Response, request

from notary.verify.witness_protocol import MAX_REQUEST_BYTES
from notary.watch.witness.files import WitnessFolder
from notary.watch.witness.service import TEXT, Witness


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_witness_app(
    folder: str | Path | None = None, clock: Callable[[], dt.datetime] = _utc_now
) -> Flask:
    """The witness app for ``folder`` (default ``$NOTARY_WITNESS_DIR``)."""
    path = Path(folder or os.environ["NOTARY_WITNESS_DIR"])
    return witness_app(WitnessFolder(path).witness(clock))


def witness_app(witness: Witness) -> Flask:
    app = Flask("notary.watch.witness")
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES

    @app.post("/add-checkpoint")
    def add_checkpoint() -> Response:
        answer = witness.add_checkpoint(request.get_data(cache=False))
        return Response(answer.body, status=answer.status, content_type=answer.content_type)

    @app.get("/checkpoint")
    def latest_checkpoint() -> Response:
        origin = request.args.get("origin", "")
        latest = witness.latest(origin)
        if latest is None:
            return Response(f"nothing cosigned for {origin!r}\n", status=404, content_type=TEXT)
        return Response(latest.cosigned_note, content_type=TEXT, headers={"Cache-Control": "no-cache"})

    @app.get("/evidence")
    def evidence() -> Response:
        return Response(
            json.dumps(witness.state.misbehaviour(), ensure_ascii=False), content_type="application/json"
        )

    @app.get("/")
    def about() -> Response:
        body = {
            "name": witness.cosigner.name,
            "cosigner_key": witness.cosigner.cosigner_key,
            "logs": sorted(witness.logs),
            "latest": [item.to_dict() for item in witness.state.all_latest()],
        }
        return Response(json.dumps(body, ensure_ascii=False), content_type="application/json")

    return app
