"""Images in a run: each dialect's shape, text-only models get the text, limits with a clear message."""

import base64
import copy

import pytest
from django.test import override_settings

from gateway.client import anthropic_body, responses_body
from gateway.simulator.text import IMAGE_TOKENS, image_problem
from playground.compare.models import Completion
from tests.compare.test_consumer import connect, receive_until, run_frame

PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()
PARTS = [{"type": "text", "text": "What is in this picture?"}, {"type": "image_url", "image_url": {"url": PNG}}]


def test_responses_and_anthropic_bodies_carry_the_image_in_their_own_shape():
    messages = [{"role": "user", "content": PARTS}]
    assert responses_body("gpt-5-2-codex", messages, {})["input"][0]["content"] == [
        {"type": "input_text", "text": "What is in this picture?"},
        {"type": "input_image", "image_url": PNG},
    ]
    image = anthropic_body("claude-haiku-4-5", messages, {})["messages"][0]["content"][1]
    assert image == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG.split(",", 1)[1]},
    }


def test_the_simulator_refuses_an_image_in_the_wrong_shape_or_for_a_text_only_model():
    chat = [{"role": "user", "content": PARTS}]
    assert image_problem("chat_completions", True, chat) is None
    assert "not support image input" in image_problem("chat_completions", False, chat)
    assert 'are {"type": "image"}' in image_problem("anthropic_messages", True, chat)


def image_frame(branch, models, **params):
    frame = run_frame(branch, models, **params)
    frame["messages"] = [{"role": "user", "content": copy.deepcopy(PARTS)}]
    return frame


@pytest.mark.django_db(transaction=True)
async def test_an_image_goes_to_vision_models_in_every_dialect_and_text_only_models_get_the_text(alice, branch):
    comm, _ = await connect(alice)
    models = ["gpt-5-mini", "gpt-5-2-codex", "claude-haiku-4-5", "meta-llama-3-3-70b-instruct"]
    await comm.send_json_to(image_frame(branch, models, max_tokens=64, thinking_budget=1024))
    frames = await receive_until(comm, lambda f: f["type"] in ("run.done", "error"))
    assert frames[-1]["type"] == "run.done", frames[-1]
    notes = {c["model"]: c["notes"] for c in frames[0]["completions"]}
    assert any("Images left out for meta-llama-3-3-70b-instruct" in n for n in notes["meta-llama-3-3-70b-instruct"])
    assert not any("Images left out" in n for n in notes["gpt-5-mini"])
    assert not [f for f in frames if f["type"] == "completion.error"]
    rows = {c.model: c async for c in Completion.objects.filter(run__code=frames[0]["run"])}
    # The simulator counts an image as IMAGE_TOKENS prompt tokens in whichever shape it came.
    text_only = rows["meta-llama-3-3-70b-instruct"].prompt_tokens
    assert rows["gpt-5-mini"].prompt_tokens == text_only + IMAGE_TOKENS
    assert rows["gpt-5-2-codex"].prompt_tokens == text_only + IMAGE_TOKENS
    claude = rows["claude-haiku-4-5"]
    assert claude.prompt_tokens >= IMAGE_TOKENS
    assert claude.status == Completion.Status.OK
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
@override_settings(RUN_MAX_IMAGE_BYTES=32)
async def test_an_image_over_the_limit_is_refused_with_its_size(alice, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(image_frame(branch, ["gpt-5-mini"]))
    frame = await comm.receive_json_from(timeout=5)
    assert frame["type"] == "error"
    assert frame["message"].startswith("An image is 0.0 MB; the limit is 0.0 MB per image")
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_an_image_must_be_a_data_url(alice, branch):
    comm, _ = await connect(alice)
    frame = image_frame(branch, ["gpt-5-mini"])
    frame["messages"][0]["content"][1]["image_url"]["url"] = "https://example.com/cat.png"
    await comm.send_json_to(frame)
    assert (await comm.receive_json_from(timeout=5))["message"].startswith("An image is a data: URL")
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_run_page_and_the_markdown_export_name_the_images_without_inlining_them(alice, branch):
    from asgiref.sync import sync_to_async
    from django.test import Client
    from django.urls import reverse

    comm, _ = await connect(alice)
    await comm.send_json_to(image_frame(branch, ["gpt-5-mini"], max_tokens=32))
    frames = await receive_until(comm, lambda f: f["type"] in ("run.done", "error"))
    await comm.disconnect()
    run = frames[0]["run"]

    def read():
        client = Client()
        client.force_login(alice)
        return (
            client.get(reverse("runs:detail", args=[run])),
            client.get(reverse("compare:export", args=[run, "md"])),
        )

    page, markdown = await sync_to_async(read)()
    assert page.status_code == 200 and markdown.status_code == 200
    assert "What is in this picture?" in page.content.decode() and "1 image" in page.content.decode()
    assert "What is in this picture?\n\n_(1 image)_" in markdown.content.decode()
    assert "base64" not in page.content.decode() and "base64" not in markdown.content.decode()
