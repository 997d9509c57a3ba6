"""Pages benchmark: server-side time of the Models page (and the usage page) per request.

For each database (SQLite always; PostgreSQL too when DATABASE_URL is set) it builds a
fresh database (a temporary SQLite file, or a `bench_pages` PostgreSQL database that is
created and dropped), migrates it (the migration loads the model catalog), creates a
user with a branch and a team price override, then times each page through
django.test.Client N times after a warm-up, and reports p50 / p95 / max and the number
of queries per request (counted on one extra, untimed request).

Baselines measured in the same run and process: the login page (a trivial view through
the same middleware) and the catalog query alone (list(GatewayModel.objects.listed())).

Budgets: the model catalog page p95 at most 50 ms with a fixed
number of queries; the usage page p95 at most 100 ms with 1M logged requests. The usage
table is filled with --usage-rows Completion rows (default 200,000; 0 skips it) and their
UsageDaily rollups; the row count used is printed.

    .venv/bin/python bench/pages.py [-n 200] [--usage-rows 200000] [--no-postgres]

Prints a table and writes bench/results/pages.json. A benchmark, not a test: it never fails
on a budget, it reports it.
"""

import argparse
import json
import os
import random
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


def run_child(backend, args, env_extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(env_extra)
    command = [sys.executable, __file__, "--child", backend, "-n", str(args.n), "--usage-rows", str(args.usage_rows)]
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode:
        sys.stderr.write(proc.stderr)
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
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    runs = []
    with tempfile.TemporaryDirectory() as folder:
        print(f"sqlite: {args.n} requests per page, usage rows {args.usage_rows:,} ...", file=sys.stderr)
        runs.append(run_child("sqlite", args, {"SQLITE_PATH": str(Path(folder) / "bench.sqlite3")}))
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")) and not args.no_postgres:
        bench_url = urlunsplit(urlsplit(url)._replace(path=f"/{PG_NAME}"))
        pg_admin(url, f'DROP DATABASE IF EXISTS "{PG_NAME}"')
        pg_admin(url, f'CREATE DATABASE "{PG_NAME}"')
        try:
            print(f"postgresql: {args.n} requests per page ...", file=sys.stderr)
            runs.append(run_child("postgresql", args, {"DATABASE_URL": bench_url}))
        finally:
            pg_admin(url, f'DROP DATABASE IF EXISTS "{PG_NAME}"')

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
    user, branch = make_user()
    usage = fill_usage(user, branch, args.usage_rows) if args.usage_rows else None

    from django.test import Client

    client = Client()
    client.force_login(user)
    anonymous = Client()
    rows = [
        time_request("baseline: login page (anonymous GET)", "baseline", anonymous, "/accounts/login/", args.n),
        time_call("baseline: catalog query alone (ORM)", lambda: list(GatewayModel.objects.listed()), args.n),
        time_request("models: no filter", "models", client, "/models/", args.n),
        time_request("models: image, <=$1 input, >=1M context", "models", client, HEADLINE, args.n),
        time_request("models: sort by blended price", "models", client, "/models/?sort=blended", args.n),
        time_request(
            "models: branch + all-of + price ranges",
            "models",
            client,
            f"/models/?branch={branch.code}&input=image&input=pdf&in_mode=all&min_output=1&max_output=30",
            args.n,
        ),
        time_request(
            "models: headline, htmx fragment", "models", client, HEADLINE, args.n, headers={"HX-Request": "true"}
        ),
    ]
    if usage:
        rows += usage_rows(client, branch, args.n)
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


def _fast_insert(model, columns, rows):
    """Insert rows (tuples in `columns` order, values ready for the database) fast: COPY on
    PostgreSQL, executemany on SQLite. Every other column gets its model default, prepared once,
    so fields other apps add later do not break the bench."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key and f.column not in columns]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in fields)
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        defaults = tuple(Jsonb(v.adapted) if hasattr(v, "adapted") else v for v in defaults)
    names = [*columns, *(f.column for f in fields)]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row + defaults)
        else:
            sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"
            batch = []
            for row in rows:
                batch.append(row + defaults)
                if len(batch) == 20000:
                    cursor.executemany(sql, batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)


def fill_usage(user, branch, count):
    """`count` finished requests over the last 90 days by two people on two branches, and the
    UsageDaily rows record() would have made (histograms included). Bulk: COPY / executemany."""
    import uuid
    from collections import defaultdict
    from datetime import UTC, timedelta
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from playground.compare.models import Completion, Run
    from playground.teams.models import Branch, Membership
    from playground.usage.models import UsageDaily
    from playground.usage.rollup import tps_bucket, ttft_bucket

    started_at = time.perf_counter()
    rng = random.Random(7)
    models = {
        "gpt-5-mini": "chat_completions",
        "gpt-5-nano": "chat_completions",
        "claude-haiku-4-5": "chat_completions",
        "claude-sonnet-4-6": "anthropic_messages",
        "gemini-2-5-flash": "chat_completions",
        "gpt-5-1-codex-mini": "openai_responses",
    }
    model_names = list(models)
    team = branch.team
    other_user = get_user_model().objects.create_user("bench2", "bench2@example.com", "bench-password")
    Membership.objects.create(team=team, user=other_user)
    other_branch = Branch(team=team, name="Staging", base_url="https://ep-bench-2.neon.tech")
    other_branch.set_token("nt_live_bench_not_a_real_token_000000001")
    other_branch.save()
    people, branches = [user.pk, other_user.pk], [branch.pk, other_branch.pk]
    now = timezone.now()
    span = 90 * 24 * 3600
    postgres = connection.vendor == "postgresql"

    def when(value):
        # psycopg adapts aware datetimes; Django stores SQLite datetimes as naive UTC text.
        return value if postgres else value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")

    def code():
        value = uuid.uuid4()
        return value if postgres else value.hex

    n_runs = max(1, count // 10)
    with transaction.atomic():
        _fast_insert(
            Run,
            ["code", "team_id", "user_id", "branch_id", "messages", "params", "created"],
            ((code(), team.pk, user.pk, branch.pk, "[]", "{}", when(now)) for _ in range(n_runs)),
        )
        first_run = Run.objects.order_by("id").values_list("id", flat=True).first()
        rollups = defaultdict(lambda: defaultdict(int))
        columns = [
            "code", "run_id", "team_id", "user_id", "branch_id", "model", "endpoint", "status", "http_status",
            "started", "first_token_at", "finished", "prompt_tokens", "completion_tokens", "cached_tokens",
            "reasoning_tokens", "cost", "cost_source", "output_text",
        ]  # fmt: skip

        def rows():
            for i in range(count):
                started = now - timedelta(seconds=rng.randrange(span))
                roll = rng.random()
                error = roll < 0.03
                estimated = 0.03 <= roll < 0.04
                model = model_names[i % len(model_names)]
                person, place = people[i % 2], branches[(i // 2) % 2]
                prompt, out = rng.randrange(20, 4000), rng.randrange(1, 1200)
                cached, reasoning = prompt // 4, out // 5
                ttft = int(rng.lognormvariate(6, 0.6))
                total_ms = ttft + rng.randrange(200, 9000)
                cost = None if error else Decimal(prompt * 25 + out * 200) / Decimal(10**9)
                status = "error" if error else "ok"
                source = "not_billed" if error else "estimated" if estimated else "computed"
                first = None if error else started + timedelta(milliseconds=ttft)
                yield (
                    code(), first_run + i % n_runs, team.pk, person, place, model, models[model], status,
                    429 if error else 200, when(started), None if first is None else when(first),
                    when(started + timedelta(milliseconds=total_ms)), None if error else prompt,
                    None if error else out, None if error else cached, None if error else reasoning,
                    None if cost is None else str(cost), source, "" if error else "Benchmark answer.",
                )  # fmt: skip
                key = (timezone.localdate(started), person, place, model, models[model], status, source)
                r = rollups[key]
                r["requests"] += 1
                if error:
                    r["errors"] += 1
                    continue
                r["prompt_tokens"] += prompt
                r["completion_tokens"] += out
                r["cached_tokens"] += cached
                r["reasoning_tokens"] += reasoning
                r["cost"] += cost
                r["estimated"] += 1 if estimated else 0
                r[ttft_bucket(ttft)] += 1
                r[tps_bucket(out / ((total_ms - ttft) / 1000))] += 1

        _fast_insert(Completion, columns, rows())
        UsageDaily.objects.bulk_create(
            [
                UsageDaily(
                    team=team,
                    day=day,
                    user_id=person,
                    branch_id=place,
                    model=model,
                    endpoint=endpoint,
                    status=status,
                    cost_source=source,
                    **values,
                )  # fmt: skip
                for (day, person, place, model, endpoint, status, source), values in rollups.items()
            ],
            batch_size=5000,
        )
    _analyze()
    return {"rows": count, "rollups": len(rollups), "seconds": time.perf_counter() - started_at}


def _analyze():
    # Fresh tables have no planner statistics; a real database that grew to this size would.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def usage_rows(client, branch, n):
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
    for name, url in views:
        url = url.format(d90=(today - timedelta(days=89)).isoformat(), today=today.isoformat())
        url += f"&team={slug}"
        headers = {"HX-Request": "true"} if "htmx" in name else None
        rows.append(time_request(name, "usage", client, url, n, headers=headers))
    older = older_page_url(client)
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
