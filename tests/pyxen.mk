# pyxen: Python bindings for xend (python/xen/xenapi.py, standard library only)
# and their test against the real daemon.  Installed as plain files into
# Debian's site-packages directory of the system python3 (no byte-compiling,
# no configure check: python3 compiles on first import).
pyxendir = $(prefix)/lib/python3/dist-packages
pyxenpkgdir = $(pyxendir)/xen
dist_pyxen_DATA = python/XenAPI.py
dist_pyxenpkg_DATA = python/xen/__init__.py python/xen/xenapi.py
TESTS += tests/pyxen/test_pyxen.py
EXTRA_DIST += tests/pyxen/test_pyxen.py python/examples/list-vms.py docs/pyxen.md
