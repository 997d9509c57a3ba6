"""Rows written in one statement each, with the values Django would send, without its compiler.

The relay writes the rows of runs that start together and of requests that end together in a
database thread. Every millisecond of Python there is taken from the event loop that relays the
streams: the two share the GIL, and each time the loop wants it back it may wait a whole switch
interval. `bulk_create` of 30 runs and their 150 requests spent ~30 ms compiling SQL and
preparing values one by one (bench/relay.py's 30x5 level). Here each statement's text is
built once per model and database backend, and each value goes through only the step of Django
that applies to it (`prep_functions`, proven value by value against `get_db_prep_save` on both
databases).

`insert` writes what `bulk_create` would and `update` what `save(update_fields=...)` would;
like `bulk_create`, neither sends signals nor calls `save()`. `new` makes an instance as the
model's constructor does from keywords, through its faster positional path (a run start makes
one per run and one per model).
"""

import uuid
from datetime import datetime
from functools import cache

from django.db import connections, models, router
from django.db.models.fields import AutoFieldMixin

# Most parameters in one statement (SQLite takes 32,766 since 3.32, PostgreSQL 65,535).
MAX_PARAMS = 30000


def prep_functions(fields, connection):
    """For each field, value -> what the database driver takes, exactly as
    `field.get_db_prep_save(value, connection)` makes it. None and the types the relay writes
    (text, integers, aware datetimes, UUIDs, booleans) take the one step of Django that applies
    to them; any other value, and every value of other fields (JSON, decimals), goes through all
    of Django's layers."""
    return [_prep_function(field, connection) for field in fields]


def _prep_function(field, connection):
    def slow(value):
        return field.get_db_prep_save(value, connection)

    fast = _fast_path(field, connection, slow)
    if fast is None:
        return slow
    kind, step = fast

    def prepared(value):
        if value is None:
            return None
        if type(value) is kind:
            return step(value)
        return slow(value)

    return prepared


def _same(value):
    return value


def _fast_path(field, connection, slow):
    """(a value type, what Django's layers come to for a value of exactly that type), or None."""
    ops = connection.ops
    if isinstance(field, models.ForeignKey):
        # The target's get_prep_value (int() of an int), then the backend's check of a serial key.
        if isinstance(field.target_field, AutoFieldMixin):
            return int, ops.validate_autopk_value
        return None
    if isinstance(field, (models.CharField, models.TextField)):
        if connection.features.interprets_empty_strings_as_nulls:
            return None
        return str, _same
    if isinstance(field, models.IntegerField) and not isinstance(field, AutoFieldMixin):
        internal = field.get_internal_type()
        return int, lambda value: ops.adapt_integerfield_value(value, internal)
    if type(field) is models.DateTimeField:
        # A naive datetime is made aware (with a warning) by Django's layers: left to them.
        return datetime, lambda value: ops.adapt_datetimefield_value(value) if value.tzinfo else slow(value)
    if type(field) is models.UUIDField:
        return uuid.UUID, _same if connection.features.has_native_uuid_field else (lambda value: value.hex)
    if type(field) is models.BooleanField:
        return bool, _same
    return None


@cache
def _new_plan(model):
    fields = model._meta.concrete_fields
    names = {name for field in fields for name in {field.name, field.attname}}
    return fields, names


def new(model, /, **values):
    """model(**values), through the constructor's positional fast path (Django's own, for rows
    read from the database), which skips matching keywords to fields. Each concrete field is
    given by name (a related object, or None) or by attname (a key); the others get their
    default; related objects are cached on the instance as their descriptor would cache them.
    `model` is positional-only: a field may be named `model`."""
    fields, names = _new_plan(model)
    unknown = values.keys() - names
    if unknown:
        raise TypeError(f"{model.__name__}() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    args = []
    related = []
    for field in fields:
        if field.is_relation and field.name in values:
            obj = values[field.name]
            if obj is not None and not isinstance(obj, field.remote_field.model):
                raise ValueError(f"{model.__name__}.{field.name} must be a {field.remote_field.model.__name__}")
            args.append(None if obj is None else getattr(obj, field.target_field.attname))
            related.append((field, obj))
        elif field.attname in values:
            args.append(values[field.attname])
        else:
            args.append(field.get_default())
    instance = model(*args)
    for field, obj in related:
        field.set_cached_value(instance, obj)
        if obj is not None and instance._state.db is None:  # as the descriptor does
            instance._state.db = router.db_for_write(model, instance=obj)
    return instance


def _plan(connection, *key):
    """A statement's text and fields, built once per backend; the values' preparation is made
    per call (it holds the connection, which a cache must not keep alive past its thread)."""
    plan = _plans.get((connection.alias, connection.vendor, *key))
    if plan is None:
        plan = _plans[connection.alias, connection.vendor, *key] = _BUILDERS[key[0]](connection, *key[1:])
    return plan


_plans = {}


def _insert_plan(connection, model):
    quote = connection.ops.quote_name
    opts = model._meta
    fields = [field for field in opts.concrete_fields if not isinstance(field, AutoFieldMixin)]
    stamped = [
        field.name for field in fields if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    ]
    if stamped:  # their value is set by pre_save(), which this does not call
        raise TypeError(f"rows.insert() does not fill auto_now fields ({', '.join(stamped)}); use bulk_create()")
    head = f"INSERT INTO {quote(opts.db_table)} ({', '.join(quote(field.column) for field in fields)}) VALUES "
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    tail = f" RETURNING {quote(opts.pk.column)}"
    return head, row, tail, fields


def insert(model, objs):
    """bulk_create(objs): one INSERT ... RETURNING per MAX_PARAMS values, each object given the
    primary key the database assigned (read in the order of the rows, as bulk_create does)."""
    if not objs:
        return
    alias = router.db_for_write(model)
    connection = connections[alias]
    if not connection.features.can_return_rows_from_bulk_insert:
        model.objects.using(alias).bulk_create(objs)
        return
    head, row, tail, fields = _plan(connection, "insert", model)
    columns = list(zip([field.attname for field in fields], prep_functions(fields, connection), strict=True))
    per_statement = max(1, MAX_PARAMS // len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            batch = objs[start : start + per_statement]
            params = [prep(getattr(obj, name)) for obj in batch for name, prep in columns]
            cursor.execute(head + ", ".join([row] * len(batch)) + tail, params)
            keys = cursor.fetchall()
            for obj, (key,) in zip(batch, keys, strict=True):
                obj.pk = key
                obj._state.adding = False
                obj._state.db = alias


def _update_plan(connection, model, names):
    quote = connection.ops.quote_name
    opts = model._meta
    fields = [opts.get_field(name) for name in names]
    sql = (
        f"UPDATE {quote(opts.db_table)} SET "
        + ", ".join(f"{quote(field.column)} = %s" for field in fields)
        + f" WHERE {quote(opts.pk.column)} = %s"
    )
    return sql, fields


def update(model, objs, names):
    """obj.save(update_fields=names) for each of objs, as one UPDATE run for each row
    (executemany), the statement compiled once."""
    if not objs:
        return
    connection = connections[router.db_for_write(model)]
    sql, fields = _plan(connection, "update", model, tuple(names))
    columns = list(zip([field.attname for field in fields], prep_functions(fields, connection), strict=True))
    rows = [[prep(getattr(obj, name)) for name, prep in columns] + [obj.pk] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _add_plan(connection, model, key, amounts):
    quote = connection.ops.quote_name
    opts = model._meta
    fields = [opts.get_field(name) for name in key + amounts]
    table = quote(opts.db_table)
    head = f"INSERT INTO {table} ({', '.join(quote(field.column) for field in fields)}) VALUES "
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    columns = [quote(field.column) for field in fields]
    tail = f" ON CONFLICT ({', '.join(columns[: len(key)])}) DO UPDATE SET " + ", ".join(
        f"{column} = {table}.{column} + EXCLUDED.{column}" for column in columns[len(key) :]
    )
    return head, row, tail, fields


def add(model, key, amounts, items):
    """Add amounts to the rows of `model` found by `key` (field names of a unique constraint),
    inserting the rows not there yet: one INSERT ... ON CONFLICT DO UPDATE SET x = x + n. `items`
    is [(key values, {amount name: n})], one per key; an amount not given adds 0. A key with a
    NULL never matches a row (NULLs are distinct in a unique constraint): each such item gets a
    row of its own. Rows are locked in the order of `items`."""
    if not items:
        return
    connection = connections[router.db_for_write(model)]
    head, row, tail, fields = _plan(connection, "add", model, tuple(key), tuple(amounts))
    preps = prep_functions(fields, connection)
    width = len(preps)
    per_statement = max(1, MAX_PARAMS // width)
    known = set(amounts)
    with connection.cursor() as cursor:
        for start in range(0, len(items), per_statement):
            batch = items[start : start + per_statement]
            params = []
            for values, added in batch:
                if not added.keys() <= known:
                    raise ValueError(f"Not an amount of {model.__name__}: {sorted(added.keys() - known)}")
                params.extend(values)
                params.extend(added.get(name, 0) for name in amounts)
            params = [prep(value) for prep, value in zip(preps * len(batch), params, strict=True)]
            cursor.execute(head + ", ".join([row] * len(batch)) + tail, params)


_BUILDERS = {"insert": _insert_plan, "update": _update_plan, "add": _add_plan}
