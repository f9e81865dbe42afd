"""What a key holder runs against the notary from its own machine: ``notary login`` and
``notary check`` (核验). The key stays in its folder; documents are hashed here, never sent.

``notary check`` exits 0 when the document is filed in your name, 3 when it is not (not filed,
or filed with another document), 1 on an error.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import click

from notary.cli.common import json_text, say, shown

NOT_FILED_EXIT = 3


def _api_options(function: Any) -> Any:
    function = click.option(
        "--api", "api", required=True, metavar="URL", help="The notary's address, e.g. http://127.0.0.1:8000."
    )(function)
    return click.option(
        "--key",
        "key_dir",
        required=True,
        type=click.Path(path_type=Path, file_okay=False),
        help="Your key's folder.",
    )(function)


@click.command()
@_api_options
@click.option("--json", "as_json", is_flag=True, help="Print {token, expires_at}.")
def login(key_dir: Path, api: str, as_json: bool) -> None:
    """Log in with your key and print a party token (for Authorization: Bearer <token>)."""
    from notary.cli import party_tools
    from notary.cli.api_client import api_base
    from notary.cli.api_client import login as key_login

    logged_in = key_login(api_base(api), party_tools.load(key_dir))
    if as_json:
        click.echo(json_text({"token": logged_in.token, "expires_at": logged_in.expires_at}))
    else:
        click.echo(logged_in.token)
        say(f"valid until {logged_in.expires_at}", err=True)


def sha256_of_file(path: Path) -> str:
    """The file's SHA-256, read in pieces; raises :class:`click.FileError`."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
    except OSError as exc:
        raise click.FileError(str(path), hint=exc.strerror or str(exc)) from exc
    return digest.hexdigest()


@click.command()
@_api_options
@click.argument("document", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--amount", help="The amount the platform told you, e.g. 10000.00.")
@click.option("--start-date", help="The start date it told you, YYYY-MM-DD.")
@click.option("--platform-id", help="The platform that told you.")
@click.option("--json", "as_json", is_flag=True, help="Print the notary's answer as JSON.")
def check(
    key_dir: Path,
    api: str,
    document: Path,
    amount: str | None,
    start_date: str | None,
    platform_id: str | None,
    as_json: bool,
) -> None:
    """Check whether DOCUMENT was filed in your name (核验). Logs in with your key, hashes the
    document here (it is never sent) and asks the notary. Exit 0 filed, 3 not filed, 1 error.
    """
    from notary.cli import party_tools
    from notary.cli.api_client import NotaryApi, api_base
    from notary.cli.api_client import login as key_login

    digest = sha256_of_file(document)
    base = api_base(api)
    key = party_tools.load(key_dir)
    token = key_login(base, key).token
    body: dict[str, Any] = {"document_sha256": digest}
    claimed = {
        name: value
        for name, value in (("amount", amount), ("start_date", start_date), ("platform_id", platform_id))
        if value is not None
    }
    if claimed:
        body["claimed"] = claimed
    answer = NotaryApi(base, token).call("POST", "/me/check", body)
    if as_json:
        click.echo(json_text(answer))
    else:
        for text in answer_in_words(answer, digest=digest, document=document, key_dir=key_dir):
            say(text)
    sys.exit(0 if answer["result"] == "filed" else NOT_FILED_EXIT)


def answer_in_words(answer: dict[str, Any], *, digest: str, document: Path, key_dir: Path) -> list[str]:
    """The check's answer for a person: what was found, what it means, what to do next."""
    from notary.cli.words import line

    result = answer["result"]
    lines = [f"document {shown(document)}", line("SHA-256", digest)]
    report = f"notary report lodge --key {shown(key_dir)} --platform-id <platform id> {shown(document)}"
    if result == "not_filed":
        lines += [
            "",
            "NOT FILED: no contract in your name holds this document.",
            "If a platform told you it filed this contract, it has not (瞒报). You can report it,",
            "signed with your key; the notary logs the report and the platform's record shows it:",
            f"  {report}",
        ]
        return lines
    if result == "document_differs":
        lines += [
            "",
            "DOCUMENT DIFFERS: a contract in your name has the terms you gave, but the platform",
            "filed a different document (an altered copy?). Compare the filed copy with yours,",
            "and if yours is the one you agreed to, report it:",
            f"  {report}",
        ]
    else:
        lines += ["", "FILED: a contract in your name holds exactly this document."]
    for item in answer["contracts"]:
        lines += ["", *_contract_lines(item)]
    if answer.get("more"):
        lines.append("(more contracts matched than are shown)")
    return lines


def _contract_lines(item: dict[str, Any]) -> list[str]:
    from notary.cli.words import line, terms_lines

    platform = item["platform"]
    status = item["status"]
    name = f"{shown(platform['name'])} ({shown(platform['platform_id'])})"
    if platform.get("status") == "defunct":
        name += f", DEFUNCT since {shown(platform.get('defunct_at', '?'))}"
    lines = [
        f"contract {shown(item['contract_id'])}",
        line("platform", name),
        line("you are", f"the {item['role']} (party {shown(item['party_id'])})"),
        line("filed at", shown(item["received_at"])),
    ]
    if item.get("under_another_key"):
        lines.append(
            "  FLAG: filed for your verified identity under a key that is not yours. You never"
            " enrolled that key: ask the platform why, and tell the notary's operator."
        )
    if status == "awaiting_signatures":
        waiting = ", ".join("you" if who["you"] else f"the {who['role']}" for who in item.get("awaiting", []))
        lines.append(line("status", f"filed, awaiting the signature of {waiting}"))
    elif status == "sealed":
        evidence = item.get("evidence") or {}
        ready = (
            "evidence ready"
            if evidence.get("ready")
            else "evidence being timestamped (ask again in a moment)"
        )
        lines.append(line("status", f"signed by both and sealed in the log; {ready}"))
        if evidence:
            lines.append(line("evidence", f"{shown(evidence['bundle'])}, {shown(evidence['certificate'])}"))
    else:
        lines.append(line("status", shown(status)))
    if item["document_sha256"]:
        lines.append(line("filed document", shown(item["document_sha256"])))
    lines += terms_lines(item.get("terms", {}))
    if item.get("claim_differs"):
        lines.append(
            f"  NOTE: the filed contract differs from what you were told in: {', '.join(item['claim_differs'])}"
        )
    return lines
