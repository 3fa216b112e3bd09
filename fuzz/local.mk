# fuzz/: libFuzzer harnesses for the project's parsers (fuzz/README.md).
#
#   make fuzz            builds fuzz/fuzz-NAME for every harness with clang
#                        -fsanitize=fuzzer,address,undefined
#   make check           replays fuzz/corpus/NAME/ through every harness built
#                        with the normal compiler, then fuzzes each briefly
#                        when clang's libFuzzer is there (fuzz/check-fuzz.sh)
#
# Adding a harness NAME (fuzz/fuzz_NAME.c defines LLVMFuzzerTestOneInput;
# seeds in fuzz/corpus/NAME/) is two lines: the name and the sources it
# needs, compiled directly (so that libFuzzer instruments them), e.g.
#   FUZZ_TARGETS += cfg
#   fuzz_cfg_SRCS = fuzz/fuzz_cfg.c $(VMDESC_C)
# Optional: fuzz_NAME_LIBS (link flags), fuzz_NAME_CPPFLAGS, fuzz_NAME_GEN
# (sources generated in the build directory, gen/).

FUZZ_CC = clang
FUZZ_SANITIZE = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_BASE = -g -O1 -std=gnu11 -pthread -D_GNU_SOURCE $(DEFS) $(DEFAULT_INCLUDES) $(AM_CPPFLAGS) \
	-DVMD_SCHEMA_DIR='"$(abs_top_srcdir)/config"'
FUZZ_TARGETS =

# The VM config parsers (config/vmdesc.h), with the util/xv.c they build strings with.
VMDESC_C = $(filter %.c,$(config_libvmdesc_la_SOURCES)) util/xv.c util/xmlrpc.c
FUZZ_TARGETS += cfg
fuzz_cfg_SRCS = fuzz/fuzz_cfg.c $(VMDESC_C)
fuzz_cfg_LIBS = $(XML_LIBS)
fuzz_cfg_CPPFLAGS = $(XML_CFLAGS)
FUZZ_TARGETS += sxp
fuzz_sxp_SRCS = fuzz/fuzz_sxp.c $(VMDESC_C)
fuzz_sxp_LIBS = $(XML_LIBS)
fuzz_sxp_CPPFLAGS = $(XML_CFLAGS)
FUZZ_TARGETS += xml
fuzz_xml_SRCS = fuzz/fuzz_xml.c $(VMDESC_C)
fuzz_xml_LIBS = $(XML_LIBS)
fuzz_xml_CPPFLAGS = $(XML_CFLAGS)

# The JSON-RPC request decoder (rpc/jsonrpc.c).
FUZZ_TARGETS += jsonrpc
fuzz_jsonrpc_SRCS = fuzz/fuzz_jsonrpc.c rpc/jsonrpc.c util/xv.c util/xmlrpc.c
fuzz_jsonrpc_LIBS = $(XML_LIBS)
fuzz_jsonrpc_CPPFLAGS = $(XML_CFLAGS)

# The XML-RPC decoders (util/xmlrpc.c): requests (the daemon) and responses (libxen, the tools).
FUZZ_TARGETS += xmlrpc_call
fuzz_xmlrpc_call_SRCS = fuzz/fuzz_xmlrpc_call.c util/xv.c util/xmlrpc.c
fuzz_xmlrpc_call_LIBS = $(XML_LIBS)
fuzz_xmlrpc_call_CPPFLAGS = $(XML_CFLAGS)
FUZZ_TARGETS += xmlrpc_response
fuzz_xmlrpc_response_SRCS = fuzz/fuzz_xmlrpc_response.c util/xv.c util/xmlrpc.c
fuzz_xmlrpc_response_LIBS = $(XML_LIBS)
fuzz_xmlrpc_response_CPPFLAGS = $(XML_CFLAGS)

# The xend.conf parser (config/xendconf.c).
FUZZ_TARGETS += xendconf
fuzz_xendconf_SRCS = fuzz/fuzz_xendconf.c config/xendconf.c util/log.c

# The record parser VM.restore runs on a save image (daemon/persist_record.c),
# with the store it writes the record back from and the generated datamodel.
FUZZ_TARGETS += restore
fuzz_restore_SRCS = fuzz/fuzz_restore.c daemon/persist_record.c daemon/store.c daemon/xtype.c \
	daemon/xerr.c util/xv.c util/xmlrpc.c
fuzz_restore_GEN = gen/xapi_model.c gen/xapi_errors.c
fuzz_restore_LIBS = $(XML_LIBS)
fuzz_restore_CPPFLAGS = $(XML_CFLAGS)

# fuzz/fuzz-NAME (clang, libFuzzer) and fuzz/replay-NAME (the build's own
# compiler and flags, so the ASan build replays under ASan).
define FUZZ_RULES
fuzz/fuzz-$(1): $$(addprefix $$(srcdir)/,$$(fuzz_$(1)_SRCS)) $$(fuzz_$(1)_GEN) $$(srcdir)/fuzz/local.mk
	@mkdir -p fuzz
	$$(AM_V_CC)$$(FUZZ_CC) $$(FUZZ_BASE) $$(FUZZ_SANITIZE) $$(fuzz_$(1)_CPPFLAGS) -o $$@ \
		$$(addprefix $$(srcdir)/,$$(fuzz_$(1)_SRCS)) $$(fuzz_$(1)_GEN) $$(fuzz_$(1)_LIBS)
fuzz/replay-$(1): $$(addprefix $$(srcdir)/,$$(fuzz_$(1)_SRCS)) $$(fuzz_$(1)_GEN) $$(srcdir)/fuzz/replay_main.c \
		$$(srcdir)/fuzz/local.mk
	@mkdir -p fuzz
	$$(AM_V_CC)$$(CC) $$(FUZZ_BASE) $$(WARN_CFLAGS) $$(CFLAGS) $$(fuzz_$(1)_CPPFLAGS) $$(LDFLAGS) -o $$@ \
		$$(addprefix $$(srcdir)/,$$(fuzz_$(1)_SRCS)) $$(fuzz_$(1)_GEN) $$(srcdir)/fuzz/replay_main.c \
		$$(fuzz_$(1)_LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULES,$(t))))

fuzz: $(FUZZ_TARGETS:%=fuzz/fuzz-%)
fuzz-replay: $(FUZZ_TARGETS:%=fuzz/replay-%)
.PHONY: fuzz fuzz-replay
CLEANFILES += $(FUZZ_TARGETS:%=fuzz/fuzz-%) $(FUZZ_TARGETS:%=fuzz/replay-%)

TESTS += fuzz/check-fuzz.sh
EXTRA_DIST += fuzz/check-fuzz.sh fuzz/README.md fuzz/replay_main.c fuzz/vmd_harness.h \
	$(foreach t,$(FUZZ_TARGETS),$(fuzz_$(t)_SRCS)) \
	$(patsubst $(srcdir)/%,%,$(wildcard $(srcdir)/fuzz/corpus/*/*))
fuzz-targets:
	@echo $(FUZZ_TARGETS)
.PHONY: fuzz-targets
