# xenops/sim: the simulated host, and its test-only control tool.
noinst_LTLIBRARIES += xenops/sim/libxo_sim.la
xenops_sim_libxo_sim_la_SOURCES = xenops/sim/sim.c xenops/sim/sim.h xenops/sim/sim_host.c

sbin_PROGRAMS += xenops/sim/xend-simctl
xenops_sim_xend_simctl_SOURCES = xenops/sim/simctl.c
