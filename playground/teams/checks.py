"""Does a branch's gateway answer with its token? Shared by the Branches page and commands."""

import logging

from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from django.utils import timezone

from gateway.client import GatewayError, list_models, stream_chat
from gateway.models import GatewayModel
from gateway.redact import Redactor
from playground.http import gateway_client

from .validation import avalidate_base_url

log = logging.getLogger(__name__)

# Used for the fallback probe when the catalog is empty.
FALLBACK_MODEL = "gpt-5-mini"


def scrub(message, token):
    """A second belt (the client scrubs what the gateway sends): no token reaches a page or a log."""
    return Redactor(token).message(message)[:500]


async def _probe_model():
    model = await GatewayModel.objects.chat().listed().values_list("id", flat=True).afirst()
    return model or FALLBACK_MODEL


async def _probe(branch, token):
    """The models the gateway lists ({"id", "enabled"}), or [] when it has no model list but can chat."""
    client = gateway_client()
    try:
        return await list_models(client, base_url=branch.base_url, token=token)
    except GatewayError as exc:
        if exc.status != 404:
            raise
    # Some OpenAI-compatible gateways have no /v1/models: one token of chat proves the
    # URL and the token work.
    model = await _probe_model()
    async for _event in stream_chat(
        client,
        base_url=branch.base_url,
        token=token,
        model=model,
        messages=[{"role": "user", "content": "ping"}],
        params={"max_tokens": 1},
    ):
        pass
    return []


async def check_branch(branch) -> tuple[bool, str]:
    """Call the branch's gateway, record the result on the branch, return (ok, message).

    The message says whose credential was sent: the branch's own or an ancestor's."""
    source = await sync_to_async(branch.credential_branch)()
    now = timezone.now()
    if source is None:
        message = "No token: this branch inherits its parent's token, and no ancestor has one."
        branch.last_checked, branch.last_check_error = now, message
        await branch.asave(update_fields=["last_checked", "last_check_error"])
        return False, message
    token = await sync_to_async(branch.token)()
    # Its own token goes unsaid; a borrowed one is named.
    used = None if source.pk == branch.pk else f"the token inherited from {source.name}"
    fields = ["last_checked", "last_check_error"]
    try:
        # The host's DNS may have changed since the URL was saved.
        await avalidate_base_url(branch.base_url)
        listed = await _probe(branch, token)
        model_ids = [m["id"] for m in listed]
    except ValidationError as exc:
        ok, message = False, scrub(" ".join(exc.messages), token)
    except GatewayError as exc:
        status = f"HTTP {exc.status}: " if exc.status else ""
        ok, message = False, scrub(f"{status}{exc.message}", token)
    else:
        ok = True
        message = f"OK: {len(model_ids)} models listed." if model_ids else "OK: the gateway answered."
        branch.last_ok = now
        fields.append("last_ok")
        if model_ids:
            branch.model_ids = model_ids
            branch.models_enabled = {m["id"]: m["enabled"] for m in listed}
            fields += ["model_ids", "models_enabled"]
    if used:
        message = f"{message} (with {used})"
    branch.last_checked = now
    branch.last_check_error = "" if ok else message
    await branch.asave(update_fields=fields)
    # The branch code, never its token or URL credentials (the URL holds none).
    log.info("branch check %s: %s", branch.code, "ok" if ok else message)
    return ok, message
