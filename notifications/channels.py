"""How each channel turns a message into what it sends: e-mail, Slack, Microsoft Teams, signed JSON.

A sender raises on any failure (the outbox retries it) and returns nothing on success. Nothing here
logs a URL, a secret or a body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.conf import settings
from django.core.mail import EmailMessage

from evidence.storage import decrypt

from . import transport
from .choices import Channel


class DeliveryFailed(Exception):
    """A receiver answered, but not with success (the text is coarse: a status code)."""


def preferences_url() -> str:
    return settings.MLSEC_BASE_URL.rstrip("/") + "/notifications/preferences/"


def send_email(message) -> None:
    user = message.recipient
    if message.dispatch_id:
        subject, body = message.dispatch.title, f"{message.dispatch.body}\n\n{message.dispatch.url}"
    else:
        subject, body = message.subject, message.body
    footer = f"\n\n--\nChoose what you receive and how often: {preferences_url()}"
    mail = EmailMessage(f"[MLSec Portal] {subject}", body + footer, settings.DEFAULT_FROM_EMAIL, [user.email],
                        headers={"Message-ID": f"<{message.key}@mlsec-portal>", "X-MLSec-Delivery": str(message.key)})
    mail.send(fail_silently=False)


def slack_payload(dispatch) -> dict:
    """Slack incoming webhooks: `text` (the fallback and notification text) plus Block Kit blocks."""
    return {
        "text": f"{_slack_escape(dispatch.title)}: {dispatch.url}",  # Slack reads <!channel> here too
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*<{dispatch.url}|{_slack_escape(dispatch.title)}>*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(dispatch.body)[:2900]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"MLSec Portal · `{dispatch.event}`"}]},
        ],
    }


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams_payload(dispatch) -> dict:
    """Microsoft Teams (incoming webhook or Workflows): a message carrying one Adaptive Card."""
    return {
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard", "version": "1.4",
                # Text a team controls (project and evidence names, comments) goes in TextRuns, which
                # Adaptive Cards never read as Markdown: a title "[Sign in](https://evil)" stays text.
                "body": [
                    _plain(dispatch.title, weight="Bolder", size="Medium"),
                    _plain(dispatch.body[:4000]),
                    _plain(f"MLSec Portal · {dispatch.event}", isSubtle=True, size="Small"),
                ],
                "actions": [{"type": "Action.OpenUrl", "title": "Open in MLSec Portal", "url": dispatch.url}],
            },
        }],
    }


def _plain(text: str, **style) -> dict:
    """An Adaptive Card block showing `text` as it is (RichTextBlock → TextRun: no Markdown)."""
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def webhook_payload(message) -> dict:
    dispatch = message.dispatch
    return {
        "id": str(message.key), "event": dispatch.event, "occurred_at": dispatch.created_at.isoformat(),
        "team": dispatch.team.slug if dispatch.team_id else None,
        "object": {"type": dispatch.object_type, "id": dispatch.object_id},
        "title": dispatch.title, "body": dispatch.body, "url": dispatch.url, "data": dispatch.context,
    }


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 over `<timestamp>.<body>` (the receiver recomputes it; docs/workflow.md)."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _destination(message) -> tuple[str, bytes]:
    """(URL, signing secret) of a team channel, or of the operator's MLSEC_WEBHOOK_URL."""
    channel = message.team_channel
    if channel is None:
        return settings.MLSEC_WEBHOOK_URL, settings.MLSEC_WEBHOOK_SECRET.encode()
    secret = decrypt(bytes(channel.secret_encrypted)) if channel.secret_encrypted else b""
    return decrypt(bytes(channel.url_encrypted)).decode(), secret


def send_team_channel(message) -> None:
    kind = message.channel
    if kind == Channel.SLACK:
        payload = slack_payload(message.dispatch)
    elif kind == Channel.TEAMS:
        payload = teams_payload(message.dispatch)
    else:
        payload = webhook_payload(message)
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {"X-MLSec-Event": message.dispatch.event, "X-MLSec-Delivery": str(message.key)}
    url, secret = _destination(message)
    if kind == Channel.WEBHOOK and secret:
        timestamp = str(int(time.time()))
        headers["X-MLSec-Timestamp"] = timestamp
        headers["X-MLSec-Signature"] = sign(secret, timestamp, body)
    answer = transport.post_json(url, body, headers, timeout=settings.MLSEC_NOTIFY_WEBHOOK_TIMEOUT_S)
    if not answer.ok:
        raise DeliveryFailed(f"the receiver answered HTTP {answer.status}")


def send(message) -> None:
    if message.channel == Channel.EMAIL:
        send_email(message)
    else:
        send_team_channel(message)
