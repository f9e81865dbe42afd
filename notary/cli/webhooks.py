"""Operators' webhook commands: ``notary webhook add|list|show|update|pause|resume|delete|secret|
deliveries|event|resend``.

The same services as the platform's ``/webhooks`` API, on any platform; every change is
recorded in the audit trail under ``--operator``.
"""

from __future__ import annotations

from typing import Any

import click

from notary.cli.common import emit, json_option, json_text, operator_option, runtime_scope, say, shown
from notary.config import parse_duration


def _actor(operator: str) -> Any:
    from notary.services.audit import trail as audit

    return audit.operator(operator)


def _describe(endpoint: dict[str, Any]) -> str:
    live = sum(1 for secret in endpoint["secrets"] if secret["live"])
    return (
        f"{endpoint['webhook_id']} {endpoint['status']} platform {endpoint['platform_id']}\n"
        f"  {shown(endpoint['url'])}\n  events: {', '.join(endpoint['events'])}\n"
        f"  live secrets: {live}; pending deliveries: {endpoint['pending_deliveries']}"
    )


_EVENT_OPTION = click.option(
    "--event",
    "events",
    multiple=True,
    help="An event type to send (repeat the option); every type when left out on add.",
)


@click.group()
def webhook() -> None:
    """Platforms' signed callbacks (docs/webhooks.md)."""


@webhook.command("add")
@click.argument("platform_id")
@click.argument("url")
@_EVENT_OPTION
@click.option("--description")
@operator_option
@json_option
def webhook_add(
    platform_id: str, url: str, events: tuple[str, ...], description: str | None, operator: str, as_json: bool
) -> None:
    """Register URL for PLATFORM_ID's events; prints the signing secret (shown once)."""
    with runtime_scope() as rt:
        new = rt.subscriptions.add(
            platform_id, url, events=list(events) or None, description=description, actor=_actor(operator)
        )
    secret = {
        "secret_id": new.secret.secret_id,
        "secret": new.secret.secret,
        "created_at": new.secret.created_at,
    }
    emit(
        as_json,
        {**new.endpoint, "secret": secret},
        f"{_describe(new.endpoint)}\nsecret (shown once): {new.secret.secret}",
    )


@webhook.command("list")
@click.option("--platform", "platform_id", help="Only this platform's endpoints.")
@json_option
def webhook_list(platform_id: str | None, as_json: bool) -> None:
    """Every endpoint (or one platform's), never a secret's value."""
    with runtime_scope() as rt:
        endpoints = rt.subscriptions.list(platform_id)
    if as_json:
        click.echo(json_text({"webhooks": endpoints}))
        return
    say("\n".join(_describe(endpoint) for endpoint in endpoints) or "no webhook endpoints")


@webhook.command("show")
@click.argument("webhook_id")
@json_option
def webhook_show(webhook_id: str, as_json: bool) -> None:
    """One endpoint, with its secrets' ids and when they stop."""
    with runtime_scope() as rt:
        endpoint = rt.subscriptions.get(None, webhook_id)
    secrets = "\n".join(
        f"  secret {s['secret_id']} made {s['created_at']}"
        + (f", stops {s['expires_at']}" if s["expires_at"] else "")
        for s in endpoint["secrets"]
    )
    emit(as_json, endpoint, f"{_describe(endpoint)}\n{secrets}")


def _change(webhook_id: str, changes: dict[str, Any], operator: str, as_json: bool) -> None:
    with runtime_scope() as rt:
        endpoint = rt.subscriptions.update(None, webhook_id, changes, actor=_actor(operator))
    emit(as_json, endpoint, _describe(endpoint))


@webhook.command("update")
@click.argument("webhook_id")
@click.option("--url")
@_EVENT_OPTION
@click.option("--description")
@operator_option
@json_option
def webhook_update(
    webhook_id: str,
    url: str | None,
    events: tuple[str, ...],
    description: str | None,
    operator: str,
    as_json: bool,
) -> None:
    """Change an endpoint's URL, events or description."""
    changes: dict[str, Any] = {}
    if url is not None:
        changes["url"] = url
    if events:
        changes["events"] = list(events)
    if description is not None:
        changes["description"] = description
    _change(webhook_id, changes, operator, as_json)


@webhook.command("pause")
@click.argument("webhook_id")
@operator_option
@json_option
def webhook_pause(webhook_id: str, operator: str, as_json: bool) -> None:
    """Hold deliveries to an endpoint (they wait, in order, until it is resumed)."""
    _change(webhook_id, {"status": "paused"}, operator, as_json)


@webhook.command("resume")
@click.argument("webhook_id")
@operator_option
@json_option
def webhook_resume(webhook_id: str, operator: str, as_json: bool) -> None:
    """Send to a paused endpoint again, starting with what waited."""
    _change(webhook_id, {"status": "active"}, operator, as_json)


@webhook.command("delete")
@click.argument("webhook_id")
@operator_option
@json_option
def webhook_delete(webhook_id: str, operator: str, as_json: bool) -> None:
    """Delete an endpoint with its secrets and its delivery log."""
    with runtime_scope() as rt:
        rt.subscriptions.delete(None, webhook_id, actor=_actor(operator))
    emit(as_json, {"webhook_id": webhook_id, "deleted": True}, f"{shown(webhook_id)} deleted")


@webhook.command("secret")
@click.argument("webhook_id")
@click.option(
    "--expire-others-in",
    help="Stop the other secrets after this long (e.g. 24h; 0 at once). Kept when left out.",
)
@click.option("--delete", "delete_id", help="Instead: stop this secret at once (not the last live one).")
@operator_option
@json_option
def webhook_secret(
    webhook_id: str, expire_others_in: str | None, delete_id: str | None, operator: str, as_json: bool
) -> None:
    """Rotate: a new secret (shown once) signs beside the others; or stop one with --delete."""
    with runtime_scope() as rt:
        if delete_id is not None:
            rt.subscriptions.delete_secret(None, webhook_id, delete_id, actor=_actor(operator))
            emit(as_json, {"secret_id": delete_id, "deleted": True}, f"secret {shown(delete_id)} deleted")
            return
        try:
            overlap = (
                None
                if expire_others_in is None
                else parse_duration(expire_others_in, name="--expire-others-in")
            )
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc
        secret = rt.subscriptions.add_secret(
            None, webhook_id, expire_others_in=overlap, actor=_actor(operator)
        )
    emit(
        as_json,
        {"secret_id": secret.secret_id, "secret": secret.secret, "created_at": secret.created_at},
        f"secret {secret.secret_id}\nsecret (shown once): {secret.secret}",
    )


@webhook.command("deliveries")
@click.argument("webhook_id")
@click.option("--status", type=click.Choice(["pending", "delivered", "failed", "cancelled"]))
@click.option("--since", help="Events created at or after this RFC 3339 time.")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
@json_option
def webhook_deliveries(
    webhook_id: str, status: str | None, since: str | None, limit: int, as_json: bool
) -> None:
    """An endpoint's deliveries, newest first: status, attempts, last answer, next try."""
    with runtime_scope() as rt:
        page = rt.deliveries.deliveries(None, webhook_id, status=status, since=since, limit=limit)
    if as_json:
        click.echo(json_text({"deliveries": page.items, "next_cursor": page.next_cursor}))
        return
    lines = [
        f"{d['event_id']} {d['type']} {d['status']} attempts {d['attempts']}"
        + (f" last {d['last_status_code'] or shown(d['last_error'])}" if d["last_attempt_at"] else "")
        + (f" next {d['next_attempt_at']}" if d["status"] == "pending" else "")
        for d in page.items
    ]
    say("\n".join(lines) or "no deliveries")


@webhook.command("event")
@click.argument("event_id")
@json_option
def webhook_event(event_id: str, as_json: bool) -> None:
    """An event as sent, its deliveries and every attempt (status code, latency, error)."""
    with runtime_scope() as rt:
        event = rt.deliveries.event(None, event_id)
    if as_json:
        click.echo(json_text(event))
        return
    lines = [f"{event['event_id']} {event['type']} created {event['created_at']}"]
    for delivery in event["deliveries"]:
        lines.append(f"  to {delivery['webhook_id']}: {delivery['status']}")
        lines.extend(
            f"    #{a['attempt']} {a['started_at']} {a['outcome']} {a['status_code'] or ''} {a['latency_ms']} ms"
            + (f" {shown(a['error'])}" if a["error"] else "")
            for a in delivery["attempt_log"]
        )
    say("\n".join(lines))


@webhook.command("resend")
@click.argument("event_id", required=False)
@click.option(
    "--failed-since", help="Instead of one event: every failed delivery of events since this RFC 3339 time."
)
@click.option("--webhook", "webhook_id", help="Only to this endpoint.")
@click.option("--platform", "platform_id", help="With --failed-since: every endpoint of this platform.")
@operator_option
@json_option
def webhook_resend(
    event_id: str | None,
    failed_since: str | None,
    webhook_id: str | None,
    platform_id: str | None,
    operator: str,
    as_json: bool,
) -> None:
    """Send EVENT_ID again (same id, same body), or every failed delivery since a time."""
    if (event_id is None) == (failed_since is None):
        raise click.UsageError("give an EVENT_ID or --failed-since TIME (not both)")
    if failed_since is not None and (webhook_id is None) == (platform_id is None):
        raise click.UsageError("with --failed-since, name --webhook or --platform")
    with runtime_scope() as rt:
        if event_id is not None:
            count = rt.deliveries.resend_event(None, event_id, endpoint_id=webhook_id, actor=_actor(operator))
        else:
            assert failed_since is not None
            count = rt.deliveries.resend_failed(
                platform_id, since=failed_since, endpoint_id=webhook_id, actor=_actor(operator)
            )
    emit(as_json, {"deliveries": count}, f"{count} deliveries queued again")
