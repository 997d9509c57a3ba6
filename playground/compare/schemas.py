"""Structured output: the JSON schema an answer must fit, checked before the run and after it."""

import json

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError


class SchemaProblem(ValueError):
    """A schema that is not valid; the message says where."""


def check_schema(schema) -> dict:
    if not isinstance(schema, dict):
        raise SchemaProblem("The JSON schema must be an object.")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise SchemaProblem(f"The JSON schema is not valid at {exc.json_path}: {exc.message}") from None
    return schema


def check_output(schema, text) -> dict:
    """{"valid": bool, "error": where and why, or None} for an answer's text."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        return {"valid": False, "error": f"The answer is not JSON ({exc.msg} at character {exc.pos})."}
    error = next(iter(Draft202012Validator(schema).iter_errors(value)), None)
    if error is None:
        return {"valid": True, "error": None}
    return {"valid": False, "error": f"At {error.json_path}: {error.message}"}
