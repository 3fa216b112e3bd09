# tests of Async tasks and events
TESTS += tests/integration/test_events.py tests/integration/test_tasks.py
EXTRA_DIST += bench/events/run.sh bench/events/evbench.py docs/events.md docs/tasks.md
