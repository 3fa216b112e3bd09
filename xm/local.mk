# xm: the command line, linked against the installed libxen (libxenapi) for
# every server call, config/libvmdesc (the VM config formats, daemon-free)
# and libxml2 (xm-config.xml).
bin_PROGRAMS += xm/xm
xm_xm_SOURCES = xm/main.c xm/conn.c xm/util.c xm/vms.c xm/sxp.c xm/progress.c \
	xm/cmd_list.c xm/cmd_host.c xm/cmd_vm.c xm/cmd_dev.c xm/console.c xm/top.c \
	xm/cmd_create.c xm/plan.c xm/plan.h xm/xm.h xm/cmds.h
xm_xm_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libxen/include -I$(top_builddir)/libxen/gen $(XML_CFLAGS)
xm_xm_CFLAGS = $(AM_CFLAGS)
xm_xm_LDADD = libxen/libxenapi.la config/libvmdesc.la $(XML_LIBS)
$(xm_xm_OBJECTS): libxen/gen/stamp

# bash completion (commands, options, VM names from the server)
bashcompletiondir = $(datadir)/bash-completion/completions
dist_bashcompletion_DATA = xm/completion/xm
