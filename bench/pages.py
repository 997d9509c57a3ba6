"""Pages benchmark: server-side time of the Models page (and the usage page) per request.

For each database (SQLite always; PostgreSQL too when DATABASE_URL is set) it builds a
fresh database (a temporary SQLite file, or a `bench_pages` PostgreSQL database that is
created and dropped), migrates it (the migration loads the model catalog), creates a
user with a branch and a team price override, then times each page through
django.test.Client N times after a warm-up, and reports p50 / p95 / max and the number
of queries per request (counted on one extra, untimed request).

Baselines measured in the same run and process: the login page (a trivial view through
the same middleware) and the catalog query alone (list(GatewayModel.objects.listed())).

Budgets: the model catalog page p95 at most 50 ms with a fixed number of queries; every Usage
view p95 at most 100 ms with 1M logged requests (250 ms with 10M). The usage log is filled with
--usage-rows Completion rows (default 1,000,000; 0 skips it) and their UsageDaily rollups, built
in SQL in one transaction (about a minute per million rows here); a few filters select rare rows
(a model used once in 2,000 requests, stopped requests, a model never used).

    .venv/bin/python bench/pages.py [-n 200] [--usage-rows 1000000] [--no-postgres] [--no-sqlite]
        [--keep] [--only TEXT ...]

--keep keeps the seeded databases (var/bench-pages-<rows>.sqlite3 and <database>_bench_<rows> on
the server of DATABASE_URL) and reuses them on the next run with --keep (migrated first), so a
change to a view is measured again in minutes; drop them by hand when done. --only times only the
views whose name contains the text (the baselines always).

Prints a table and writes bench/results/pages.json. A benchmark, not a test: it never fails
on a budget, it reports it.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "pages.json"
PG_NAME = f"bench_pages_{os.getpid()}"
HEADLINE = "/models/?input=image&max_input=1&min_context=1000000"
BUDGETS = {"models": 50.0, "usage": 100.0}


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


# ---- The parent: one child process per database (Django configures once per process) ----


def pg_admin(url, sql):
    """Run a statement on the server's maintenance database (CREATE/DROP DATABASE cannot run in a transaction)."""
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql)


def pg_exists(url, name):
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def run_child(backend, args, env_extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(env_extra)
    command = [sys.executable, __file__, "--child", backend, "-n", str(args.n), "--usage-rows", str(args.usage_rows)]
    for text in args.only or ():
        command += ["--only", text]
    # Progress (seeding steps) and warnings pass through on stderr; stdout carries the result.
    proc = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode:
        raise SystemExit(f"{backend} run failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="timed requests per page (default 200)")
    parser.add_argument(
        "--usage-rows",
        type=int,
        default=1_000_000,
        help="Completion rows for the usage page (10,000,000 for the large run)",
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only, even if DATABASE_URL is set")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the seeded databases (var/bench-pages-<rows>.sqlite3, <database>_bench_<rows>) and reuse them next time",
    )
    parser.add_argument("--only", action="append", help="time only the views whose name contains this (repeatable)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    runs = []
    if not args.no_sqlite:
        print(f"sqlite: {args.n} requests per page, usage rows {args.usage_rows:,} ...", file=sys.stderr)
        if args.keep:
            path = ROOT / "var" / f"bench-pages-{args.usage_rows}.sqlite3"
            path.parent.mkdir(exist_ok=True)
            runs.append(run_child("sqlite", args, {"SQLITE_PATH": str(path)}))
        else:
            with tempfile.TemporaryDirectory() as folder:
                runs.append(run_child("sqlite", args, {"SQLITE_PATH": str(Path(folder) / "bench.sqlite3")}))
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")) and not args.no_postgres:
        name = PG_NAME
        if args.keep:
            name = f"{urlsplit(url).path.strip('/') or 'postgres'}_bench_{args.usage_rows}"
        bench_url = urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
        if not (args.keep and pg_exists(url, name)):
            pg_admin(url, f'DROP DATABASE IF EXISTS "{name}"')
            pg_admin(url, f'CREATE DATABASE "{name}"')
        try:
            print(f"postgresql: {args.n} requests per page ...", file=sys.stderr)
            runs.append(run_child("postgresql", args, {"DATABASE_URL": bench_url}))
        finally:
            if not args.keep:
                pg_admin(url, f'DROP DATABASE IF EXISTS "{name}"')

    report(runs, args)


def report(runs, args):
    header = f"{'database':<11} {'page':<44} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'1st ms':>7} {'queries':>7} {'budget':>10}"
    print(header)
    print("-" * len(header))
    for run in runs:
        for row in run["rows"]:
            budget = BUDGETS.get(row["kind"])
            verdict = ""
            if budget is not None:
                verdict = f"{'ok' if row['p95_ms'] <= budget else 'OVER'} <={budget:g}"
            print(
                f"{run['database']:<11} {row['name']:<44} {row['p50_ms']:>7.2f} {row['p95_ms']:>7.2f} "
                f"{row['max_ms']:>7.2f} {row.get('first_ms', float('nan')):>7.1f} {row['queries']:>7} {verdict:>10}"
            )
        extra = f"catalog {run['catalog_models']} models"
        if run["usage_rows"]:
            extra += (
                f"; usage log {run['usage_rows']:,} Completion rows, {run['usage_rollups']:,} UsageDaily rows"
                f" (filled in {run['usage_fill_s']:.1f} s)"
            )
        print(f"{'':<11} {extra}")
    out = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "requests_per_page": args.n,
        "budgets_p95_ms": BUDGETS,
        "python": sys.version.split()[0],
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


# ---- The child: one database, configured through the environment ----


def child(args):
    sys.path.insert(0, str(ROOT))
    # The test settings: debug off (production template caching), fast password hashing,
    # static files without a manifest. The database comes from DATABASE_URL / SQLITE_PATH.
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["DJANGO_DEBUG"] = "0"  # DEBUG logs every query and skips the Models page's row cache
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    # Progress and warnings go to stderr: stdout carries only the JSON result line.
    call_command("migrate", verbosity=0, stdout=sys.stderr)
    from gateway.catalog import seed
    from gateway.models import GatewayModel

    if not GatewayModel.objects.exists():
        seed()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username="bench").first()
    if user is not None:  # --keep: seeded by an earlier run
        from playground.compare.models import Completion
        from playground.teams.models import Branch
        from playground.usage.models import UsageDaily

        branch = Branch.objects.get(team__memberships__user=user, name="Bench")
        usage = None
        if args.usage_rows:
            usage = {
                "rows": Completion.objects.filter(team=branch.team).order_by().count(),
                "rollups": UsageDaily.objects.filter(team=branch.team).count(),
                "seconds": 0.0,
                "reused": True,
            }
        _analyze()
    else:
        user, branch = make_user()
        usage = fill_usage(user, branch, args.usage_rows) if args.usage_rows else None

    from django.test import Client

    client = Client()
    client.force_login(user)
    anonymous = Client()
    rows = [
        time_request("baseline: login page (anonymous GET)", "baseline", anonymous, "/accounts/login/", args.n),
        time_call("baseline: catalog query alone (ORM)", lambda: list(GatewayModel.objects.listed()), args.n),
    ]
    models_pages = [
        ("models: no filter", "/models/", None),
        ("models: image, <=$1 input, >=1M context", HEADLINE, None),
        ("models: sort by blended price", "/models/?sort=blended", None),
        (
            "models: branch + all-of + price ranges",
            f"/models/?branch={branch.code}&input=image&input=pdf&in_mode=all&min_output=1&max_output=30",
            None,
        ),
        ("models: headline, htmx fragment", HEADLINE, {"HX-Request": "true"}),
    ]
    for name, url, headers in models_pages:
        if not args.only or any(text in name for text in args.only):
            rows.append(time_request(name, "models", client, url, args.n, headers=headers))
    if usage:
        rows += usage_rows(client, branch, args.n, args.only)
    result = {
        "database": "postgresql" if connection.vendor == "postgresql" else connection.vendor,
        "catalog_models": GatewayModel.objects.listed().count(),
        "usage_rows": usage["rows"] if usage else 0,
        "usage_rollups": usage["rollups"] if usage else 0,
        "usage_fill_s": usage["seconds"] if usage else 0,
        "rows": rows,
    }
    print(json.dumps(result))


def make_user():
    """A user whose page exercises every path: a checked branch and a team price override."""
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from gateway.models import GatewayModel
    from playground.teams.models import Branch, Team, TeamModelPrice

    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-password")
    team = Team.objects.get(memberships__user=user, personal=True)  # made by the post_save signal
    ids = list(GatewayModel.objects.listed().values_list("id", flat=True))
    branch = Branch(team=team, name="Bench", base_url="https://ep-bench.neon.tech", models_enabled={})
    # Two in three models enabled, as a partly verified account would see.
    branch.models_enabled = {f"databricks-{model_id}": i % 3 != 0 for i, model_id in enumerate(ids)}
    branch.set_token("nt_live_bench_not_a_real_token_000000000")
    branch.save()
    for model_id in ids[:5]:
        TeamModelPrice.objects.create(team=team, model_id=model_id, input=Decimal("0.5"), output=Decimal("2"))
    return user, branch


SEED_MODELS = {
    "gpt-5-mini": "chat_completions",
    "gpt-5-nano": "chat_completions",
    "claude-haiku-4-5": "chat_completions",
    "claude-sonnet-4-6": "anthropic_messages",
    "gemini-2-5-flash": "chat_completions",
    "gpt-5-1-codex-mini": "openai_responses",
}


# One request in two thousand: a filter that selects few rows of the log.
RARE_MODEL, SEED_RARE_ENDPOINT = "claude-opus-4-1", "anthropic_messages"
# In the catalog, never used by the bench's team: a filter that selects no row at all.
UNUSED_MODEL = "gpt-5-5-pro"


def _defaults(model, columns):
    """(column names, values) of every other column of `model`, its default prepared once, so
    fields other apps add later do not break the bench."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key and f.column not in columns]
    values = [f.get_db_prep_save(f.get_default(), connection) for f in fields]
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        values = [Jsonb(v.adapted) if hasattr(v, "adapted") else v for v in values]
    return [f.column for f in fields], values


def _insert_select(cursor, model, expressions, source_sql, params=()):
    """INSERT INTO model's table (the columns of `expressions`, then every other column at its
    default) SELECT the expressions FROM source_sql: the rows never pass through Python."""
    names, values = _defaults(model, list(expressions))
    columns = [*expressions, *names]
    # Every literal % doubled: the statement carries parameters.
    select = [*(e.replace("%", "%%") for e in expressions.values()), *(["%s"] * len(values))]
    cursor.execute(
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(select)} "
        f"FROM {source_sql.replace('%', '%%')}",
        [*values, *params],
    )


def _drop_indexes(cursor, table):
    """Drop `table`'s indexes that no constraint owns; return the statements that make them again."""
    from django.db import connection

    if connection.vendor == "postgresql":
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            [table],
        )
    else:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL", [table]
        )
    found = cursor.fetchall()
    for name, _ in found:
        cursor.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in found]


def fill_usage(user, branch, count):
    """`count` finished requests over the last 90 days by two people on two branches, and the
    UsageDaily rows record() would have made (histograms included), all built in SQL in one
    transaction: a temporary table of random numbers (generate_series on PostgreSQL, a recursive
    CTE on SQLite), the log inserted from it in time order, the rollup grouped from it."""
    from django.contrib.auth import get_user_model
    from django.db import DatabaseError, connection, transaction
    from django.utils import timezone

    from playground.compare.models import Completion, Run
    from playground.teams.models import Branch, Membership
    from playground.usage.models import TPS_BOUNDS, TPS_FIELDS, TTFT_BOUNDS_MS, TTFT_FIELDS, UsageDaily

    started_at = last = time.perf_counter()

    def step(name):
        nonlocal last
        now = time.perf_counter()
        print(f"  seeded {name} in {now - last:.1f} s", file=sys.stderr)
        last = now

    team = branch.team
    other_user = get_user_model().objects.create_user("bench2", "bench2@example.com", "bench-password")
    Membership.objects.create(team=team, user=other_user)
    other_branch = Branch(team=team, name="Staging", base_url="https://ep-bench-2.neon.tech")
    other_branch.set_token("nt_live_bench_not_a_real_token_000000001")
    other_branch.save()
    now_us = int(timezone.now().timestamp() * 1_000_000)
    span_us = 90 * 24 * 3600 * 1_000_000
    postgres = connection.vendor == "postgresql"
    n_runs = max(1, count // 10)

    if postgres:
        uniform = "random()"
        series = "generate_series(0, {last}) AS s(i)"
        stamp = "(timestamptz 'epoch' + ({us}) * interval '1 microsecond')"
        day = "(date '1970-01-01' + (us / 86400000000)::int)"
        uuid_sql = "gen_random_uuid()"
    else:
        uniform = "((abs(random()) % 1000000000) / 1000000000.0)"
        series = (
            "(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {last}) SELECT i FROM s) AS s"
        )
        # Django's text for a naive UTC datetime; `us` is odd, so never a whole second (which
        # Django would write without the fraction).
        stamp = (
            "(strftime('%Y-%m-%d %H:%M:%S', ({us}) / 1000000, 'unixepoch') || '.' || printf('%06d', ({us}) % 1000000))"
        )
        day = "date(us / 1000000, 'unixepoch')"
        uuid_sql = "lower(hex(randomblob(16)))"

    def between(low, high):
        """A random integer in [low, high)."""
        return f"CAST(floor({low} + {uniform} * {high - low}) AS BIGINT)"

    def case(expression, options):
        whens = " ".join(f"WHEN {n} THEN '{value}'" for n, value in enumerate(options))
        return f"CASE {expression} {whens} END"

    def bucket(expression, bounds):
        # bisect_left: the first bound at least the value; past the last, the open bucket.
        whens = " ".join(f"WHEN {expression} <= {bound} THEN {n}" for n, bound in enumerate(bounds))
        return f"CASE {whens} ELSE {len(bounds)} END"

    names = list(SEED_MODELS)
    people, places = [user.pk, other_user.pk], [branch.pk, other_branch.pk]
    # Time to first token: log-normal around 400 ms (Box-Muller), as record()'s histograms see it.
    normal = f"sqrt(-2 * ln(1 - {uniform})) * cos(2 * pi() * {uniform})"
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            cursor.execute("SELECT setseed(0.7)")
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL temp_buffers = '1GB'")  # the seed tables stay in memory
            try:
                # Skips the foreign keys' triggers (a deferred check per row and key, at commit):
                # the rows are consistent by construction. Only a superuser may; others wait.
                with transaction.atomic():
                    cursor.execute("SET LOCAL session_replication_role = replica")
            except DatabaseError:
                pass
        else:
            cursor.execute("PRAGMA cache_size = -1000000")  # 1 GB of page cache while seeding
        cursor.execute(
            f"""CREATE TEMPORARY TABLE bench_numbers AS SELECT i,
                ({now_us} - {between(0, span_us)}) | 1 AS us,
                {between(0, 10000)} AS roll,
                {between(20, 4000)} AS prompt,
                {between(1, 1200)} AS out_tokens,
                CAST(floor(exp(6 + 0.6 * {normal})) AS BIGINT) AS ttft,
                {between(200, 9000)} AS work,
                {case("i % 6", names)} AS common_model,
                {case("i % 6", [SEED_MODELS[m] for m in names])} AS common_endpoint,
                CASE i % 2 WHEN 0 THEN {people[0]} ELSE {people[1]} END AS user_id,
                CASE (i / 2) % 2 WHEN 0 THEN {places[0]} ELSE {places[1]} END AS branch_id
            FROM {series.format(last=count - 1)}"""
        )
        # Three in a hundred failed (429, not billed), one in a hundred estimated, one in a
        # thousand stopped (partly estimated); one in two thousand on a rare model, so the
        # filters that select few rows are measured too. Derived in a second table: SQLite
        # may evaluate random() again in a flattened subquery, so the numbers are a table first.
        cursor.execute(
            f"""CREATE TEMPORARY TABLE bench_seed AS SELECT i, us, roll, prompt, out_tokens, ttft, work, user_id,
                branch_id, {bucket("ttft", TTFT_BOUNDS_MS)} AS ttft_bucket,
                {bucket("round(out_tokens * 1000.0 / work, 1)", TPS_BOUNDS)} AS tps_bucket,  -- Completion.tokens_per_s
                CASE WHEN roll < 300 THEN 1 ELSE 0 END AS failed,
                CASE WHEN roll < 300 THEN 'error' WHEN roll BETWEEN 400 AND 409 THEN 'cancelled' ELSE 'ok' END
                    AS status,
                CASE WHEN roll < 300 THEN 'not_billed' WHEN roll < 400 THEN 'estimated'
                    WHEN roll < 410 THEN 'partly_estimated' ELSE 'computed' END AS cost_source,
                CASE WHEN roll >= 9995 THEN '{RARE_MODEL}' ELSE common_model END AS model,
                CASE WHEN roll >= 9995 THEN '{SEED_RARE_ENDPOINT}' ELSE common_endpoint END AS endpoint
            FROM bench_numbers"""
        )
        _insert_select(
            cursor,
            Run,
            {
                "code": uuid_sql,
                "team_id": str(team.pk),
                "user_id": str(user.pk),
                "branch_id": str(branch.pk),
                "created": stamp.format(us=now_us),
            },
            series.format(last=n_runs - 1),
        )
        step("numbers and runs")
        first_run = Run.objects.order_by("id").values_list("id", flat=True).first()
        # The log's plain indexes are built once after the insert (a sort each) rather than grown
        # a row at a time: 10 million rows take minutes, not most of an hour.
        indexes = _drop_indexes(cursor, Completion._meta.db_table)
        _insert_select(
            cursor,
            Completion,
            {
                "code": uuid_sql,
                "run_id": f"{first_run} + i % {n_runs}",
                "team_id": str(team.pk),
                "user_id": "user_id",
                "branch_id": "branch_id",
                "model": "model",
                "endpoint": "endpoint",
                "status": "status",
                "http_status": "CASE failed WHEN 1 THEN 429 ELSE 200 END",
                "started": stamp.format(us="us"),
                "first_token_at": f"CASE failed WHEN 1 THEN NULL ELSE {stamp.format(us='us + ttft * 1000')} END",
                "finished": stamp.format(us="us + (ttft + work) * 1000"),
                "prompt_tokens": "CASE failed WHEN 1 THEN NULL ELSE prompt END",
                "completion_tokens": "CASE failed WHEN 1 THEN NULL ELSE out_tokens END",
                "cached_tokens": "CASE failed WHEN 1 THEN NULL ELSE prompt / 4 END",
                "reasoning_tokens": "CASE failed WHEN 1 THEN NULL ELSE out_tokens / 5 END",
                "cost": "CASE failed WHEN 1 THEN NULL ELSE (prompt * 25 + out_tokens * 200) / 1000000000.0 END",
                "cost_source": "cost_source",
                "output_text": "CASE failed WHEN 1 THEN '' ELSE 'Benchmark answer.' END",
            },
            # In time order, as a real log grows: the (team, started) index is appended to.
            "(SELECT * FROM bench_seed ORDER BY us) AS seed",
        )
        step("log")
        for sql in indexes:
            cursor.execute(sql)
        step(f"{len(indexes)} indexes of the log")
        ok = "(1 - failed)"
        rollup = {
            "team_id": str(team.pk),
            "day": day,
            "user_id": "user_id",
            "branch_id": "branch_id",
            "model": "model",
            "endpoint": "endpoint",
            "status": "status",
            "cost_source": "cost_source",
            "requests": "COUNT(*)",
            "errors": "SUM(failed)",
            "prompt_tokens": f"SUM({ok} * prompt)",
            "completion_tokens": f"SUM({ok} * out_tokens)",
            "cached_tokens": f"SUM({ok} * (prompt / 4))",
            "reasoning_tokens": f"SUM({ok} * (out_tokens / 5))",
            "cost": f"SUM({ok} * (prompt * 25 + out_tokens * 200) / 1000000000.0)",
            "unpriced": "0",
            "estimated": "SUM(CASE WHEN cost_source IN ('estimated', 'partly_estimated') THEN 1 ELSE 0 END)",
        }
        for n, name in enumerate(TTFT_FIELDS):
            rollup[name] = f"SUM(CASE WHEN failed = 0 AND ttft_bucket = {n} THEN 1 ELSE 0 END)"
        for n, name in enumerate(TPS_FIELDS):
            rollup[name] = f"SUM(CASE WHEN failed = 0 AND tps_bucket = {n} THEN 1 ELSE 0 END)"
        _insert_select(
            cursor,
            UsageDaily,
            rollup,
            f"bench_seed GROUP BY {day}, user_id, branch_id, model, endpoint, status, cost_source",
        )
        step("rollup")
        cursor.execute("DROP TABLE bench_seed")
        cursor.execute("DROP TABLE bench_numbers")
    step("commit")
    _analyze()
    step("analyze")
    return {
        "rows": count,
        "rollups": UsageDaily.objects.filter(team=team).count(),
        "seconds": time.perf_counter() - started_at,
    }


def _analyze():
    # Fresh tables have no planner statistics; a real database that grew to this size would.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def usage_rows(client, branch, n, only=None):
    """Every Usage view and filter, timed."""
    slug = branch.team.slug
    code = branch.code
    views = [
        ("usage: last 30 days, first log page", "/usage/?period=30d"),
        ("usage: last 7 days", "/usage/?period=7d"),
        ("usage: custom 90 days", "/usage/?period=custom&from={d90}&to={today}"),
        ("usage: filter model", "/usage/?period=30d&model=gpt-5-mini"),
        ("usage: filter branch", f"/usage/?period=30d&branch={code}"),
        ("usage: filter person", "/usage/?period=30d&person=bench2"),
        ("usage: filter status=error", "/usage/?period=30d&status=error"),
        ("usage: filter cost_source=estimated", "/usage/?period=30d&cost_source=estimated"),
        ("usage: filter endpoint=openai_responses", "/usage/?period=30d&endpoint=openai_responses"),
        ("usage: filter rare model (1 in 2,000)", f"/usage/?period=30d&model={RARE_MODEL}"),
        ("usage: filter status=cancelled (1 in 1,000)", "/usage/?period=30d&status=cancelled"),
        ("usage: filter a model never used", f"/usage/?period=30d&model={UNUSED_MODEL}"),
        (
            "usage: filter person + rare model, 90 days",
            f"/usage/?period=custom&from={{d90}}&to={{today}}&person=bench2&model={RARE_MODEL}",
        ),
        ("usage: all filters at once", f"/usage/?period=30d&model=gpt-5-mini&branch={code}&person=bench&status=ok"),
        ("usage: group by branch", "/usage/?period=30d&group=branch"),
        ("usage: group by person", "/usage/?period=30d&group=person"),
        ("usage: group by day, 90 days", "/usage/?period=custom&from={d90}&to={today}&group=day"),
        ("usage: htmx fragment (filter swap)", "/usage/?period=30d&model=gpt-5-nano"),
        ("usage: chart spend, 30 days", "/usage/charts/spend.svg?period=30d"),
        ("usage: chart tokens, 30 days", "/usage/charts/tokens.svg?period=30d"),
        ("usage: chart TTFT p50, 30 days", "/usage/charts/ttft.svg?period=30d"),
        ("usage: chart error rate, 30 days", "/usage/charts/errors.svg?period=30d"),
        ("usage: data quality, 30 days", "/usage/quality/?period=30d"),
        ("usage: meters (budgets + last minute)", "/usage/meters/?"),
    ]
    from datetime import timedelta

    from django.utils import timezone

    today = timezone.localdate()
    rows = []
    views = [(name, url) for name, url in views if not only or any(text in name for text in only)]
    for name, url in views:
        url = url.format(d90=(today - timedelta(days=89)).isoformat(), today=today.isoformat())
        url += f"&team={slug}"
        headers = {"HX-Request": "true"} if "htmx" in name else None
        rows.append(time_request(name, "usage", client, url, n, headers=headers))
    older = (
        older_page_url(client)
        if not only or any(text in "usage: 30 days, an older log page" for text in only)
        else None
    )
    if older:
        rows.append(time_request("usage: 30 days, an older log page", "usage", client, older, n))
    return rows


def older_page_url(client):
    import re

    html = client.get("/usage/?period=30d").content.decode()
    match = re.search(r'href="(\?[^"]*cursor=[^"]+)"', html)
    return "/usage/" + match.group(1).replace("&amp;", "&") if match else None


def _stats(name, kind, times, queries, status=None):
    ms = [t * 1000 for t in times]
    return {
        "name": name,
        "kind": kind,
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "max_ms": round(max(ms), 3),
        "queries": queries,
        "status": status,
    }


def time_request(name, kind, client, url, n, headers=None):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    # The first request pays for template loading and, on the Models page, rendering the rows.
    t0 = time.perf_counter()
    response = client.get(url, headers=headers)
    first_ms = (time.perf_counter() - t0) * 1000
    for _ in range(10):  # warm-up
        response = client.get(url, headers=headers)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    # Counted on its own request: capturing adds a little time to every query. Django empties
    # the query log when a request starts, so the count must start from an empty log too.
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        client.get(url, headers=headers)
    # Read now: the count is a view of the query log, which the next request empties.
    queries = len(captured)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        client.get(url, headers=headers)
        times.append(time.perf_counter() - t0)
    return _stats(name, kind, times, queries, response.status_code) | {
        "url": url,
        "bytes": len(response.content),
        "first_ms": round(first_ms, 3),
    }


def time_call(name, fn, n):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(10):
        fn()
    with CaptureQueriesContext(connection) as captured:
        fn()
    queries = len(captured)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return _stats(name, "baseline", times, queries)


if __name__ == "__main__":
    main()
