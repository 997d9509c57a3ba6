"""Serve the gateway simulator (gateway/simulator/) with daphne, for local demos and benchmarks."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from gateway import simulator


class Command(BaseCommand):
    help = "Serve a local Neon AI Gateway simulator (not a real gateway) on a loopback port."

    def add_arguments(self, parser: ArgumentParser) -> None:
        env = simulator.config_from_env()
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--ttft-ms", type=int, default=env["ttft_ms"], help="time to first content chunk")
        parser.add_argument("--interval-ms", type=int, default=env["interval_ms"], help="time between chunks")
        parser.add_argument("--chunks", type=int, default=env["chunks"], help="text deltas per answer (default 64)")
        parser.add_argument(
            "--token", default=env["token"], help="accept only this nt_live_ credential (default: any nt_live_ token)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Imported here: importing daphne.server installs the Twisted asyncio reactor.
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server

        app = simulator.create_app(
            ttft_ms=options["ttft_ms"],
            interval_ms=options["interval_ms"],
            chunks=options["chunks"],
            token=options["token"],
            models=simulator.config_from_env()["models"],
        )
        host, port = options["host"], options["port"]
        self.stdout.write(
            f"Neon AI Gateway simulator (not a real gateway) on http://{host}:{port}\n"
            f"  ttft {options['ttft_ms']} ms, interval {options['interval_ms']} ms, "
            f"{options['chunks'] or simulator.DEFAULT_CHUNKS} chunks, "
            f"token {'fixed' if options['token'] else 'any nt_live_'}\n"
            f"  base URL for a branch: http://{host}:{port}"
        )
        Server(
            application=app,
            endpoints=build_endpoint_description_strings(host=host, port=port),
            server_name="neon-ai-gateway-simulator",
        ).run()
