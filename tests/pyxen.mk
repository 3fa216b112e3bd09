# pyxen: Python bindings for xend (python/xen/xenapi.py, standard library only)
# and their test against the real daemon.  Installed as plain files into a
# dist-packages directory of the system python3 (pyxendir, chosen by
# configure; no byte-compiling: python3 compiles on first import).
pyxenpkgdir = $(pyxendir)/xen
dist_pyxen_DATA = python/XenAPI.py
dist_pyxenpkg_DATA = python/xen/__init__.py python/xen/xenapi.py
TESTS += tests/pyxen/test_pyxen.py tests/pyxen/pip.sh
EXTRA_DIST += tests/pyxen/test_pyxen.py tests/pyxen/pip.sh python/examples/list-vms.py docs/pyxen.md \
	python/pyproject.toml python/README.md
