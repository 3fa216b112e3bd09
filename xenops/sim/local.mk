# xenops/sim: the simulated host, and its test-only control tool.
noinst_LTLIBRARIES += xenops/sim/libxo_sim.la
xenops_sim_libxo_sim_la_SOURCES = xenops/sim/sim.c xenops/sim/sim_priv.h \
	xenops/sim/sim_host.c xenops/sim/sim_ctl.c xenops/sim/sim_dom.c xenops/sim/simconsole.c \
	xenops/sim/simfile.c xenops/sim/simfile.h \
	xenops/sim/simimage.c xenops/sim/simimage.h

# xend-simctl plays the guest / another toolstack in tests (not XenAPI).
pkglibexec_PROGRAMS = xenops/sim/xend-simctl
xenops_sim_xend_simctl_SOURCES = xenops/sim/simctl.c xenops/sim/simfile.c xenops/sim/simfile.h
xenops_sim_xend_simctl_CFLAGS = $(AM_CFLAGS)

check_PROGRAMS += tests/unit/test_sim
TESTS += tests/unit/test_sim
tests_unit_test_sim_LDADD = xenops/libxobackends.la xenops/libxenops.la $(XTEST_LIBS)
tests_unit_test_sim_CPPFLAGS = $(AM_CPPFLAGS) -DSIMCTL_PATH='"$(abs_top_builddir)/xenops/sim/xend-simctl"'
tests_unit_test_sim_DEPENDENCIES = xenops/libxobackends.la xenops/libxenops.la xenops/sim/xend-simctl
