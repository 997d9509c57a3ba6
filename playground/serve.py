"""`python -m playground.serve [daphne's arguments]`: daphne on uvloop's event loop.

daphne runs on Twisted's asyncio reactor, which makes its event loop with
`asyncio.new_event_loop()` as `daphne.server` is imported. Installing uvloop's policy
before that import makes it a uvloop loop, which costs the relay less CPU per chunk
(bench/relay.py measures it). Everything else is daphne's own command line.
"""

import asyncio
import sys

import uvloop


def main() -> None:
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    from daphne.cli import CommandLineInterface

    sys.argv[0] = "daphne"
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
