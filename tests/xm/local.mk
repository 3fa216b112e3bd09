# xm against the real daemon on the sim (tests/xm/).
TESTS += tests/xm/test_xm.py
EXTRA_DIST += tests/xm/test_xm.py
