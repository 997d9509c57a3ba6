""" "Get code": the current comparison as ready-to-run snippets.

Each model goes to the endpoint the run would use (`runs.plan_model`, from the catalog),
with the request body the run would send (`gateway.client`'s body builders), so a snippet
reproduces the comparison exactly. Snippets read NEON_AI_GATEWAY_BASE_URL (the branch's
bare gateway host, as `neon env pull` writes it) and NEON_AI_GATEWAY_TOKEN from the
environment: the token itself never appears in them.
"""

import json
import pprint
from dataclasses import dataclass

from gateway.client import (
    ANTHROPIC_VERSION,
    NEON_DIALECT_PATHS,
    anthropic_body,
    chat_body,
    responses_body,
)

from .runs import catalog_models, plan_model

PATHS = {
    "chat_completions": NEON_DIALECT_PATHS["chat_completions"] + "/chat/completions",
    "openai_responses": NEON_DIALECT_PATHS["openai_responses"] + "/responses",
    "anthropic_messages": NEON_DIALECT_PATHS["anthropic_messages"] + "/messages",
}
ENDPOINT_LABELS = {
    "chat_completions": "chat completions",
    "openai_responses": "OpenAI Responses",
    "anthropic_messages": "Anthropic Messages",
}


@dataclass
class Call:
    model: str
    endpoint: str
    body: dict  # exactly what the run sends, `stream: true` included
    notes: list


def plan_calls(models, messages, params):
    """One Call per model, as a run with these models, messages and params would make it."""
    catalog = catalog_models()
    calls = []
    for model_id in models:
        plan = plan_model(catalog.get(model_id), model_id, params)
        if plan.endpoint == "openai_responses":
            body = responses_body(model_id, messages, plan.params)
        elif plan.endpoint == "anthropic_messages":
            body = anthropic_body(model_id, messages, plan.params, plan.thinking)
        else:
            body = chat_body(model_id, messages, plan.params, include_usage=plan.include_usage)
        calls.append(Call(model_id, plan.endpoint, body, plan.notes))
    return calls


def snippets(models, messages, params) -> dict:
    calls = plan_calls(models, messages, params)
    return {
        "python": python_snippet(calls),
        "typescript": typescript_snippet(calls),
        "curl": curl_snippet(calls),
        "mastra": mastra_snippet(calls, messages, params),
    }


def _py(value, indent=0):
    text = pprint.pformat(value, width=100 - indent, sort_dicts=False)
    return text.replace("\n", "\n" + " " * indent)


def _py_call(function, body):
    """`function(` then one `key=value,` line per body field, then `)`."""
    lines = [f"{function}("]
    lines += [f"    {key}={_py(value, 4 + len(key) + 1)}," for key, value in body.items()]
    return [*lines, ")"]


def _js(value):
    # JSON is a JavaScript literal, but for U+2028/2029 in strings in older engines.
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _comment(call):
    line = f"{call.model}: {ENDPOINT_LABELS[call.endpoint]}"
    return [line, *call.notes]


def python_snippet(calls):
    endpoints = {c.endpoint for c in calls}
    lines = [
        '"""A comparison from Gateway Playground.',
        "",
        "pip install openai; then set NEON_AI_GATEWAY_BASE_URL (the branch's gateway host, as",
        "`neon env pull` writes it) and NEON_AI_GATEWAY_TOKEN, and run: python compare.py",
        '"""',
        "",
    ]
    if "anthropic_messages" in endpoints:
        lines += ["import json", "import urllib.request"]
    lines += ["import os", ""]
    if endpoints & {"chat_completions", "openai_responses"}:
        lines += ["from openai import OpenAI", ""]
    lines += [
        'BASE = os.environ["NEON_AI_GATEWAY_BASE_URL"].rstrip("/")',
        'TOKEN = os.environ["NEON_AI_GATEWAY_TOKEN"]',
    ]
    if "chat_completions" in endpoints:
        path = NEON_DIALECT_PATHS["chat_completions"]
        lines.append(f'chat = OpenAI(base_url=BASE + "{path}", api_key=TOKEN)')
    if "openai_responses" in endpoints:
        path = NEON_DIALECT_PATHS["openai_responses"]
        lines.append(f'responses = OpenAI(base_url=BASE + "{path}", api_key=TOKEN)')
    if "anthropic_messages" in endpoints:
        lines += [
            "",
            "",
            "def anthropic_messages(body):",
            '    """Stream one Anthropic Messages answer (the OpenAI SDK does not speak this dialect)."""',
            "    request = urllib.request.Request(",
            f'        BASE + "{PATHS["anthropic_messages"]}",',
            "        data=json.dumps(body).encode(),",
            "        headers={",
            '            "Authorization": f"Bearer {TOKEN}",',
            '            "Content-Type": "application/json",',
            f'            "anthropic-version": "{ANTHROPIC_VERSION}",',
            "        },",
            "    )",
            "    with urllib.request.urlopen(request, timeout=120) as response:",
            "        for raw in response:",
            "            line = raw.decode().strip()",
            '            if not line.startswith("data:"):',
            "                continue",
            "            event = json.loads(line[5:])",
            '            if event.get("type") == "content_block_delta" and event["delta"].get("type") == "text_delta":',
            '                print(event["delta"]["text"], end="", flush=True)',
            '            elif event.get("type") == "content_block_start" and event["content_block"]["type"] == "tool_use":',
            "                print(f\"[tool call {event['content_block']['name']}] \", end=\"\", flush=True)",
            '            elif event.get("type") == "content_block_delta" and event["delta"].get("type") == "input_json_delta":',
            '                print(event["delta"]["partial_json"], end="", flush=True)',
            '            elif event.get("type") == "error":',
            '                raise RuntimeError(event["error"].get("message"))',
        ]
    for call in calls:
        lines += ["", ""]
        lines += [f"# {line}" for line in _comment(call)]
        lines.append(f'print("=== {call.model} ===")')
        body = call.body
        if call.endpoint == "chat_completions":
            lines += _py_call("stream = chat.chat.completions.create", body)
            lines += [
                "for chunk in stream:",
                "    if chunk.choices and chunk.choices[0].delta.content:",
                '        print(chunk.choices[0].delta.content, end="", flush=True)',
            ]
            if "tools" in body:
                # A tool call streams as its name, then pieces of its JSON arguments.
                lines += [
                    "    for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:",
                    "        if call.function and call.function.name:",
                    '            print(f"[tool call {call.function.name}] ", end="", flush=True)',
                    "        if call.function and call.function.arguments:",
                    '            print(call.function.arguments, end="", flush=True)',
                ]
        elif call.endpoint == "openai_responses":
            lines += _py_call("stream = responses.responses.create", body)
            lines += [
                "for event in stream:",
                '    if event.type == "response.output_text.delta":',
                '        print(event.delta, end="", flush=True)',
            ]
            if "tools" in body:
                lines += [
                    '    elif event.type == "response.output_item.added" and event.item.type == "function_call":',
                    '        print(f"[tool call {event.item.name}] ", end="", flush=True)',
                    '    elif event.type == "response.function_call_arguments.delta":',
                    '        print(event.delta, end="", flush=True)',
                ]
        else:
            lines.append(f"anthropic_messages({_py(body, len('anthropic_messages('))})")
        lines.append("print()")
    return "\n".join(lines) + "\n"


def typescript_snippet(calls):
    endpoints = {c.endpoint for c in calls}
    lines = [
        "// A comparison from Gateway Playground.",
        "// npm install openai; set NEON_AI_GATEWAY_BASE_URL (the branch's gateway host, as `neon env pull`",
        "// writes it) and NEON_AI_GATEWAY_TOKEN; run with: npx tsx compare.ts",
        'import OpenAI from "openai";',
        "",
        'const BASE = process.env.NEON_AI_GATEWAY_BASE_URL!.replace(/\\/+$/, "");',
        "const TOKEN = process.env.NEON_AI_GATEWAY_TOKEN!;",
    ]
    if "chat_completions" in endpoints:
        lines.append(
            f'const chat = new OpenAI({{ baseURL: BASE + "{NEON_DIALECT_PATHS["chat_completions"]}", apiKey: TOKEN }});'
        )
    if "openai_responses" in endpoints:
        lines.append(
            f'const responses = new OpenAI({{ baseURL: BASE + "{NEON_DIALECT_PATHS["openai_responses"]}", apiKey: TOKEN }});'
        )
    if "anthropic_messages" in endpoints:
        lines += [
            "",
            "// Anthropic Messages, streamed with fetch (the OpenAI SDK does not speak this dialect).",
            "async function anthropicMessages(body: object) {",
            f'  const response = await fetch(BASE + "{PATHS["anthropic_messages"]}", {{',
            '    method: "POST",',
            f'    headers: {{ Authorization: `Bearer ${{TOKEN}}`, "Content-Type": "application/json", "anthropic-version": "{ANTHROPIC_VERSION}" }},',
            "    body: JSON.stringify(body),",
            "  });",
            "  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);",
            "  const decoder = new TextDecoder();",
            '  let buffer = "";',
            "  for await (const bytes of response.body!) {",
            "    buffer += decoder.decode(bytes, { stream: true });",
            "    const lines = buffer.split(/\\r?\\n/);",
            '    buffer = lines.pop() ?? "";',
            "    for (const line of lines) {",
            '      if (!line.startsWith("data:")) continue;',
            "      const event = JSON.parse(line.slice(5));",
            '      if (event.type === "content_block_delta" && event.delta.type === "text_delta") process.stdout.write(event.delta.text);',
            '      if (event.type === "content_block_start" && event.content_block.type === "tool_use") process.stdout.write(`[tool call ${event.content_block.name}] `);',
            '      if (event.type === "content_block_delta" && event.delta.type === "input_json_delta") process.stdout.write(event.delta.partial_json);',
            "    }",
            "  }",
            "}",
        ]
    for call in calls:
        lines.append("")
        lines += [f"// {line}" for line in _comment(call)]
        lines.append(f'console.log("=== {call.model} ===");')
        body = _js(call.body)
        if call.endpoint == "chat_completions":
            lines += [
                "{",
                f"  const stream = await chat.chat.completions.create({body.replace(chr(10), chr(10) + '  ')});",
                "  for await (const chunk of stream) {",
                '    process.stdout.write(chunk.choices[0]?.delta?.content ?? "");',
                *(
                    [
                        "    for (const call of chunk.choices[0]?.delta?.tool_calls ?? []) {",
                        "      if (call.function?.name) process.stdout.write(`[tool call ${call.function.name}] `);",
                        '      process.stdout.write(call.function?.arguments ?? "");',
                        "    }",
                    ]
                    if "tools" in call.body
                    else []
                ),
                "  }",
                "}",
            ]
        elif call.endpoint == "openai_responses":
            lines += [
                "{",
                f"  const stream = await responses.responses.create({body.replace(chr(10), chr(10) + '  ')});",
                "  for await (const event of stream) {",
                '    if (event.type === "response.output_text.delta") process.stdout.write(event.delta);',
                *(
                    [
                        '    if (event.type === "response.output_item.added" && event.item.type === "function_call") process.stdout.write(`[tool call ${event.item.name}] `);',
                        '    if (event.type === "response.function_call_arguments.delta") process.stdout.write(event.delta);',
                    ]
                    if "tools" in call.body
                    else []
                ),
                "  }",
                "}",
            ]
        else:
            lines.append(f"await anthropicMessages({body});")
        lines.append('console.log("");')
    return "\n".join(lines) + "\n"


def curl_snippet(calls):
    lines = [
        "# A comparison from Gateway Playground: one streamed request per model.",
        "# Set NEON_AI_GATEWAY_BASE_URL (the branch's gateway host, as `neon env pull` writes it) and",
        "# NEON_AI_GATEWAY_TOKEN first.",
    ]
    for call in calls:
        lines.append("")
        lines += [f"# {line}" for line in _comment(call)]
        lines.append(f'echo "=== {call.model} ==="')
        # --fail-with-body: an HTTP error prints the gateway's message and stops the script.
        lines.append(f'curl -sS -N --fail-with-body "${{NEON_AI_GATEWAY_BASE_URL%/}}{PATHS[call.endpoint]}" \\')
        lines.append('  -H "Authorization: Bearer $NEON_AI_GATEWAY_TOKEN" \\')
        lines.append('  -H "Content-Type: application/json" \\')
        if call.endpoint == "anthropic_messages":
            lines.append(f'  -H "anthropic-version: {ANTHROPIC_VERSION}" \\')
        # A quoted heredoc: nothing in the body is expanded by the shell. JSON strings hold no
        # raw newline, so no line of the body can be the terminator.
        lines.append("  --data-binary @- <<'JSON'")
        lines.append(json.dumps(call.body, indent=2, ensure_ascii=False))
        lines.append("JSON")
        lines.append("echo")
    return "\n".join(lines) + "\n"


def mastra_snippet(calls, messages, params):
    """A Mastra agent per model. Mastra's `neon/<id>` model router speaks chat completions
    and reads the same two variables; models that need another endpoint are noted instead."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system" and isinstance(m["content"], str))
    turns = [m for m in messages if m["role"] != "system"]
    settings = {}
    if "temperature" in params:
        settings["temperature"] = params["temperature"]
    if "top_p" in params:
        settings["topP"] = params["top_p"]
    if "max_tokens" in params:
        settings["maxOutputTokens"] = params["max_tokens"]
    chat_calls = [c for c in calls if c.endpoint == "chat_completions"]
    tools = params.get("tools") or []
    lines = [
        "// A comparison from Gateway Playground as Mastra agents.",
        "// npm install @mastra/core"
        + (" ai" if tools else "")
        + "; Mastra's model router sends `neon/<id>` models to",
        "// NEON_AI_GATEWAY_BASE_URL/ai-gateway/mlflow/v1 with NEON_AI_GATEWAY_TOKEN (set both).",
        'import { Agent } from "@mastra/core/agent";',
    ]
    if tools:
        lines.append('import { jsonSchema, tool } from "ai";')
    lines += [
        "",
        f"const instructions = {_js(system or 'You are a helpful assistant.')};",
        f"const messages = {_js(turns)};",
        "",
    ]
    if tools:
        # AI SDK tools with their JSON schema as is; with no execute, a call is reported, not run.
        lines.append("const tools = {")
        for spec in tools:
            fields = (
                f"description: {_js(spec.get('description', ''))}, inputSchema: jsonSchema({_js(spec['parameters'])})"
            )
            lines.append(f"  {_js(spec['name'])}: tool({{ {fields} }}),".replace("\n", "\n  "))
        lines += ["};", ""]
    for call in calls:
        if call.endpoint != "chat_completions":
            lines.append(
                f"// {call.model} is left out: it needs {ENDPOINT_LABELS[call.endpoint]}, and Mastra's neon router "
                "speaks chat completions (see the Python or TypeScript snippet)."
            )
    if not chat_calls:
        return "\n".join(lines) + "\n"
    lines.append("const agents = {")
    for call in chat_calls:
        lines.append(
            f'  {_js(call.model)}: new Agent({{ name: {_js(call.model)}, instructions, model: "neon/{call.model}"'
            + (", tools" if tools and "tools" in call.body else "")
            + " }),"
        )
    lines += [
        "};",
        "",
        "for (const [model, agent] of Object.entries(agents)) {",
        "  console.log(`=== ${model} ===`);",
        f"  const stream = await agent.stream(messages, {{ modelSettings: {json.dumps(settings)} }});",
        "  for await (const text of stream.textStream) process.stdout.write(text);",
        *(["  for (const call of await stream.toolCalls) console.log(JSON.stringify(call));"] if tools else []),
        '  console.log("");',
        "}",
    ]
    return "\n".join(lines) + "\n"
