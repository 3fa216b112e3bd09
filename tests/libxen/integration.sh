#!/bin/bash
# libxen against the real daemon: sessions, get_all_records of every class,
# errors, the VM lifecycle, async calls and tasks, events.
. "${srcdir:-.}/tests/libxen/common.sh"
libxen_need_daemon
libxen_run tests/libxen/integration
rc=$?
xend_stop || rc=1
exit $rc
