"""A run exported as Markdown or JSON: its messages, parameters, threads and every answer."""

import json

from django.core.serializers.json import DjangoJSONEncoder

from .schemas import check_tool_calls


def run_data(run, completions) -> dict:
    tools = (run.params or {}).get("tools") or []
    return {
        "run": str(run.code),
        "created": run.created.isoformat(),
        "branch": run.branch.name if run.branch else None,
        "messages": run.messages,
        "threads": run.threads,
        "params": run.params,
        "model_params": run.model_params,
        "completions": [
            {
                "id": str(c.code),
                "model": c.model,
                "endpoint": c.endpoint,
                "status": c.status,
                "output": c.output_text,
                "reasoning": c.reasoning_text,
                "tool_calls": [
                    {**call, "check": check}
                    for call, check in zip(c.tool_calls, check_tool_calls(tools, c.tool_calls), strict=True)
                ],
                "error": c.error_message or None,
                "prompt_tokens": c.prompt_tokens,
                "completion_tokens": c.completion_tokens,
                "cost_usd": None if c.cost is None else str(c.cost),
                "cost_source": c.cost_source,
                "ttft_ms": c.ttft_ms,
                "latency_ms": c.latency_ms,
                "tokens_per_s": c.tokens_per_s,
                "notes": c.notes,
            }
            for c in completions
        ],
    }


def as_json(run, completions) -> str:
    return json.dumps(run_data(run, completions), indent=2, ensure_ascii=False, cls=DjangoJSONEncoder)


def _fence(text):
    # A fence longer than any backtick run inside, so the text cannot close it.
    longest, current = 0, 0
    for char in text:
        current = current + 1 if char == "`" else 0
        longest = max(longest, current)
    return "`" * max(3, longest + 1)


def _content(content) -> str:
    """A message's text; its images (data: URLs) are named, not inlined."""
    if isinstance(content, str):
        return content
    text = "\n".join(p["text"] for p in content if p.get("type") == "text")
    images = sum(1 for p in content if p.get("type") == "image_url")
    return text + (f"\n\n_({images} image{'' if images == 1 else 's'})_" if images else "")


def as_markdown(run, completions) -> str:
    data = run_data(run, completions)
    lines = [f"# Run {data['run']}", "", f"- Created: {data['created']}"]
    if data["branch"]:
        lines.append(f"- Branch: {data['branch']}")
    shown = {k: v for k, v in data["params"].items() if k not in ("tools", "response_schema")}
    if shown:
        lines.append("- Parameters: " + ", ".join(f"`{k}={v}`" for k, v in shown.items()))
    for key, title in (("response_schema", "JSON schema for the answer"), ("tools", "Tools")):
        if data["params"].get(key):
            lines += [
                "",
                f"## {title}",
                "",
                "```json",
                json.dumps(data["params"][key], indent=2, ensure_ascii=False),
                "```",
            ]
    lines += ["", "## Messages", ""]
    for message in data["messages"]:
        lines += [f"**{message['role']}**:", "", _content(message["content"]), ""]
    for c in data["completions"]:
        lines += [f"## {c['model']}", ""]
        facts = [c["status"], c["endpoint"]]
        if c["cost_usd"] is not None:
            facts.append(f"{'~' if c['cost_source'] in ('estimated', 'partly_estimated') else ''}${c['cost_usd']}")
        if c["latency_ms"] is not None:
            facts.append(f"{c['latency_ms']} ms")
        lines += [f"_{' · '.join(facts)}_", ""]
        thread = data["threads"].get(c["model"])
        if thread:
            lines += ["<details><summary>Earlier turns</summary>", ""]
            for turn in thread:
                lines += [f"**{turn['role']}**:", "", _content(turn["content"]), ""]
            lines += ["</details>", ""]
        if c["reasoning"]:
            fence = _fence(c["reasoning"])
            lines += ["Thinking:", "", fence, c["reasoning"], fence, ""]
        if c["output"] or not c["tool_calls"]:
            lines += [c["output"] or "_(no answer)_", ""]
        for call in c["tool_calls"]:
            fence = _fence(call["arguments"])
            mark = "fits its parameters" if call["check"]["valid"] else call["check"]["error"]
            lines += [f"Tool call `{call['name']}` ({mark}):", "", fence + "json", call["arguments"], fence, ""]
        if c["error"]:
            lines += [f"> Error: {c['error']}", ""]
    return "\n".join(lines)
