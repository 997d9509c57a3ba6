"""What the compare app tells other apps, so they can hook in without compare importing them
(apps import one way: usage reads compare, never the reverse)."""

from django.dispatch import Signal

# Sent on the database thread, before any request of a run is sent, with `run`, `branch` and
# `completions` (unsaved). A receiver may refuse the run by raising run_frame.RunError (its message
# is shown), or return a list of notes every panel shows (say, "this run may cross the rate
# limit").
run_starting = Signal()

# Sent on the database thread, in the transaction that wrote finished requests' rows, with
# `completions` (a list: requests that end together are written together). Receivers keep
# the rollup, tell live Usage pages, count metrics. Each request is in one call only.
completions_finished = Signal()
