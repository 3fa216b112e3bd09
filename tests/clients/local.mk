# Clients of every family against the real daemon (tests/clients/).
TESTS += tests/clients/test_jsonrpc.py
EXTRA_DIST += tests/clients/test_jsonrpc.py
