"""Structured output and tools: the JSON schema an answer must fit and the tools a model may
call, checked before the run; the answer and each tool call's arguments, checked after it."""

import json
import math
import re

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError


class SchemaProblem(ValueError):
    """A schema that is not valid; the message says where."""


def non_finite(value, path="$"):
    """Where a number JSON cannot carry (NaN, Infinity: Python's json reads them) sits in
    `value`, or None. A request body carrying one cannot be sent."""
    if isinstance(value, float) and not math.isfinite(value):
        return path
    if isinstance(value, dict):
        items = ((f"{path}.{key}", item) for key, item in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{n}]", item) for n, item in enumerate(value))
    else:
        return None
    return next((found for where, item in items if (found := non_finite(item, where)) is not None), None)


def check_schema(schema) -> dict:
    if not isinstance(schema, dict):
        raise SchemaProblem("The JSON schema must be an object.")
    if (where := non_finite(schema)) is not None:
        raise SchemaProblem(f"The JSON schema has a number JSON cannot carry (NaN or Infinity) at {where}.")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise SchemaProblem(f"The JSON schema is not valid at {exc.json_path}: {exc.message}") from None
    return schema


def check_output(schema, text, what="The answer is") -> dict:
    """{"valid": bool, "error": where and why, or None} for an answer's text (or, `what`, a
    tool call's arguments)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        return {"valid": False, "error": f"{what} not JSON ({exc.msg} at character {exc.pos})."}
    error = next(iter(Draft202012Validator(schema).iter_errors(value)), None)
    if error is None:
        return {"valid": True, "error": None}
    return {"valid": False, "error": f"At {error.json_path}: {error.message}"}


# OpenAI's rule for a function's name, which the other dialects accept too.
TOOL_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_TOOLS = 32
MAX_TOOL_DESCRIPTION = 1024
EMPTY_PARAMETERS = {"type": "object", "properties": {}}


def check_tools(tools) -> list[dict]:
    """Tool definitions in the run's one form, [{"name", "description", "parameters"}] (OpenAI's
    function shape; its {"type": "function", "function": {...}} wrapper is taken off), or
    SchemaProblem saying which tool is wrong and where."""
    if not isinstance(tools, list):
        raise SchemaProblem("Tools are a JSON array of tool definitions.")
    if len(tools) > MAX_TOOLS:
        raise SchemaProblem(f"A run offers at most {MAX_TOOLS} tools.")
    clean, seen = [], set()
    for n, tool in enumerate(tools, 1):
        if isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("function"), dict):
            tool = tool["function"]
        if not isinstance(tool, dict):
            raise SchemaProblem(f"Tool {n} must be an object with a name, a description and parameters.")
        name = tool.get("name")
        where = f"Tool {n} ({name})" if isinstance(name, str) and name else f"Tool {n}"
        unknown = sorted(set(tool) - {"name", "description", "parameters"})
        if unknown:
            raise SchemaProblem(f"{where}: unknown field {unknown[0]!r} (a tool has name, description, parameters).")
        if not isinstance(name, str) or not TOOL_NAME_RE.match(name):
            raise SchemaProblem(f"{where}: the name must be 1 to 64 letters, digits, underscores or hyphens.")
        if name in seen:
            raise SchemaProblem(f"{where}: another tool has the same name.")
        seen.add(name)
        description = tool.get("description", "")
        if not isinstance(description, str) or len(description) > MAX_TOOL_DESCRIPTION:
            raise SchemaProblem(f"{where}: the description must be text of at most {MAX_TOOL_DESCRIPTION} characters.")
        parameters = tool.get("parameters", EMPTY_PARAMETERS)
        if not isinstance(parameters, dict):
            raise SchemaProblem(f"{where}: parameters must be a JSON schema object.")
        if parameters.get("type") != "object":
            # Every dialect takes a tool's input as an object (Anthropic's input_schema must be one).
            raise SchemaProblem(f'{where}: parameters must be a schema of "type": "object".')
        if (bad := non_finite(parameters, "$.parameters")) is not None:
            raise SchemaProblem(f"{where}: the parameters have a number JSON cannot carry (NaN or Infinity) at {bad}.")
        try:
            Draft202012Validator.check_schema(parameters)
        except SchemaError as exc:
            path = exc.json_path.replace("$", "$.parameters", 1)
            raise SchemaProblem(
                f"{where}: the parameters are not a valid JSON schema at {path}: {exc.message}"
            ) from None
        entry = {"name": name}
        if description:
            entry["description"] = description
        entry["parameters"] = parameters
        clean.append(entry)
    return clean


def check_tool_calls(tools, calls) -> list[dict]:
    """For each tool call of an answer, {"valid", "error"}: whether its arguments are JSON that
    fits the parameters of the tool it names."""
    by_name = {tool["name"]: tool.get("parameters") or EMPTY_PARAMETERS for tool in tools or ()}
    checks = []
    for call in calls:
        parameters = by_name.get(call.get("name"))
        if parameters is None:
            checks.append({"valid": False, "error": f"No tool named {call.get('name')!r} was offered."})
        else:
            # No arguments at all is an empty input (Anthropic streams none for a tool without parameters).
            checks.append(check_output(parameters, call.get("arguments") or "{}", what="The arguments are"))
    return checks
