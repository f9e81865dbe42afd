"""``notary report lodge`` (a person, from its own machine) and ``notary report list`` (an operator,
on the server)."""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
from pathlib import Path
from typing import Any

import click

from notary.cli.common import json_option, json_text, runtime_scope, say, shown


@click.group("report")
def report() -> None:
    """瞒报 reports: lodge one (a person), list them (an operator)."""


@report.command("lodge")
@click.option(
    "--key",
    "key_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Your key's folder.",
)
@click.option("--platform-id", required=True, help="The platform that did not file the contract.")
@click.argument("document", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--api", metavar="URL", help="The notary's address; without it, print the body of POST /reports."
)
@click.option("--amount", help="The amount the platform told you.")
@click.option("--currency", help="Its currency (ISO 4217), e.g. CNY.")
@click.option("--annual-rate", help='The annual rate it told you, a fraction: "0.0800" is 8 %.')
@click.option("--term-months", type=int, help="The term it told you, in months.")
@click.option("--start-date", help="The start date it told you, YYYY-MM-DD.")
@click.option("--external-ref", help="The platform's own reference of the contract.")
@click.option("--attach", is_flag=True, help="Send the document itself too (for the investigators).")
@click.option("--json", "as_json", is_flag=True, help="Print the notary's answer as JSON.")
def lodge(
    key_dir: Path,
    platform_id: str,
    document: Path,
    api: str | None,
    amount: str | None,
    currency: str | None,
    annual_rate: str | None,
    term_months: int | None,
    start_date: str | None,
    external_ref: str | None,
    attach: bool,
    as_json: bool,
) -> None:
    """Report that PLATFORM did not file the contract DOCUMENT in your name (瞒报). Signed with your
    key here; the notary stores the report and writes it into its log."""
    from notary.cli import party_tools
    from notary.cli.api_client import NotaryApi, api_base
    from notary.cli.api_client import login as key_login
    from notary.cli.checks import sha256_of_file
    from notary.verify.encoding import b64encode
    from notary.verify.payloads import format_time
    from notary.verify.reports import report_payload

    key = party_tools.load(key_dir)
    claimed: dict[str, Any] = {
        name: value
        for name, value in (
            ("amount", amount),
            ("currency", currency),
            ("annual_rate", annual_rate),
            ("term_months", term_months),
            ("start_date", start_date),
            ("external_ref", external_ref),
        )
        if value is not None
    }
    digest = sha256_of_file(document)
    payload = report_payload(
        platform_id=platform_id,
        document_sha256=digest,
        key_fingerprint=key.public.fingerprint,
        reported_at=format_time(dt.datetime.now(dt.UTC)),
        claimed=claimed,
    )
    body: dict[str, Any] = {"payload_base64": b64encode(payload), "signature": b64encode(key.sign(payload))}
    if attach:
        data = document.read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise click.ClickException(f"{document} changed while it was read; try again")
        body["document_base64"] = b64encode(data)
    if api is None:
        click.echo(json_text(body))
        return
    base = api_base(api)
    answer = NotaryApi(base, key_login(base, key).token).call("POST", "/reports", body)
    if as_json:
        click.echo(json_text(answer))
        return
    say(f"report {shown(answer['report_id'])} lodged against platform {shown(answer['platform_id'])}")
    say(f"  document SHA-256 {answer['document_sha256']}; report SHA-256 {answer['report_sha256']}")
    say("  The notary writes it into its log within seconds; the platform's public record counts it,")
    say("  and if the platform files this document later, the report is marked filed late.")
    say(f"  See your reports: GET {base}/me/reports (notary login --key {shown(key_dir)} --api {shown(api)})")


@report.command("list")
@click.option("--platform", "platform_id", help="Only this platform's reports.")
@json_option
def list_reports(platform_id: str | None, as_json: bool) -> None:
    """Every report lodged (or one platform's), oldest first: for operators, on the server."""
    with runtime_scope() as rt:
        reports = rt.report_reads.for_operator(platform_id)
    if as_json:
        click.echo(json_text({"reports": reports}))
        return
    if not reports:
        say("no reports" + (f" against {shown(platform_id)}" if platform_id else ""))
        return
    for item in reports:
        status = item["status"]
        if status == "filed_late":
            late = item["filed_late"]
            status = f"filed late, {_delay(late['delay_seconds'])} after the report, as {shown(late['contract_id'])}"
        logged = "not logged yet" if item["leaf_index"] is None else f"leaf {item['leaf_index']}"
        say(
            f"{shown(item['report_id'])}  {shown(item['platform_name'])} ({shown(item['platform_id'])})  "
            f"lodged {item['lodged_at']}  {status}  {logged}"
        )
        claimed = ", ".join(f"{name} {shown(value)}" for name, value in sorted(item["claimed"].items()))
        attached = "; document attached" if item["document_attached"] else ""
        say(f"    document {item['document_sha256']}; by key {item['key_fingerprint']}{attached}")
        if claimed:
            say(f"    claimed: {claimed}")
    sys.stdout.flush()


def _delay(seconds: int) -> str:
    days, rest = divmod(max(seconds, 0), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {rest // 60} min"
