# Clients of every family against the real daemon (tests/clients/).
TESTS += tests/clients/test_jsonrpc.py tests/clients/test_xo.py tests/clients/test_xenapi_py.py \
	tests/integration/test_metrics.py
EXTRA_DIST += tests/clients/test_jsonrpc.py tests/clients/test_xo.py tests/clients/test_xenapi_py.py tests/integration/test_metrics.py tests/clients/xo_client.mjs \
	tests/clients/package.json tests/clients/package-lock.json
