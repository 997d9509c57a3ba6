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
PG_NAME = "bench_pages"
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
    parser.add_argument("--usage-rows", type=int, default=200_000, help="Completion rows for the usage page")
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
        rows.append(time_request("usage: last 30 days, first log page", "usage", client, "/usage/?period=30d", args.n))
        rows.append(time_request("usage: last 7 days", "usage", client, "/usage/?period=7d", args.n))
        older = older_page_url(client)
        if older:
            rows.append(time_request("usage: 30 days, an older log page", "usage", client, older, args.n))
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


def fill_usage(user, branch, count):
    """`count` finished requests over the last 90 days, and the UsageDaily rows record() would have made."""
    from collections import defaultdict
    from datetime import timedelta
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from playground.compare.models import Completion, Run
    from playground.usage.models import UsageDaily

    started_at = time.perf_counter()
    rng = random.Random(7)
    models = ["gpt-5-mini", "gpt-5-nano", "claude-haiku-4-5", "claude-sonnet-4-6", "gemini-2-5-flash", "gpt-oss-120b"]
    team = branch.team
    now = timezone.now()
    span = 90 * 24 * 3600
    rollups = defaultdict(lambda: defaultdict(Decimal))
    batch = 5000
    with transaction.atomic():
        runs = Run.objects.bulk_create(
            [Run(team=team, user=user, branch=branch, messages=[], params={}) for _ in range(max(1, count // 4))],
            batch_size=batch,
        )
        for offset in range(0, count, batch):
            rows = []
            for i in range(offset, min(offset + batch, count)):
                started = now - timedelta(seconds=rng.randrange(span))
                error = rng.random() < 0.03
                prompt, completion = rng.randrange(20, 4000), rng.randrange(1, 1200)
                cost = None if error else Decimal(prompt * 25 + completion * 200) / Decimal(10**9)
                model = rng.choice(models)
                rows.append(
                    Completion(
                        run=runs[i % len(runs)],
                        team=team,
                        user=user,
                        branch=branch,
                        model=model,
                        status=Completion.Status.ERROR if error else Completion.Status.OK,
                        http_status=429 if error else 200,
                        started=started,
                        finished=started + timedelta(milliseconds=rng.randrange(200, 9000)),
                        prompt_tokens=None if error else prompt,
                        completion_tokens=None if error else completion,
                        cost=cost,
                        cost_source=Completion.CostSource.NOT_BILLED if error else Completion.CostSource.COMPUTED,
                        output_text="" if error else "Benchmark answer.",
                    )
                )
                day = rollups[(timezone.localdate(started), model)]
                day["requests"] += 1
                day["errors"] += 1 if error else 0
                day["prompt_tokens"] += 0 if error else prompt
                day["completion_tokens"] += 0 if error else completion
                day["cost"] += cost or 0
            Completion.objects.bulk_create(rows, batch_size=batch)
        UsageDaily.objects.bulk_create(
            [
                UsageDaily(
                    team=team,
                    day=day,
                    user=user,
                    branch=branch,
                    model=model,
                    requests=int(v["requests"]),
                    errors=int(v["errors"]),
                    prompt_tokens=int(v["prompt_tokens"]),
                    completion_tokens=int(v["completion_tokens"]),
                    cost=v["cost"],
                )
                for (day, model), v in rollups.items()
            ],
            batch_size=batch,
        )
    _analyze()
    return {"rows": count, "rollups": len(rollups), "seconds": time.perf_counter() - started_at}


def _analyze():
    # Fresh tables have no planner statistics; a real database that grew to this size would.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


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
