# Code generated at build time from the one datamodel.
GEN_DEPS = $(top_srcdir)/tools/gen.py $(top_srcdir)/tools/datamodel.py $(top_srcdir)/datamodel/xenapi.json
GEN_FILES = gen/xapi_model.h gen/xapi_model.c gen/xapi_errors.h gen/xapi_errors.c \
	gen/xapi_handlers.h gen/xapi_dispatch.c gen/xapi_policy.h gen/xapi_policy.c \
	gen/api-reference.md gen/methods.txt
gen/stamp: $(GEN_DEPS)
	$(AM_V_GEN)$(MKDIR_P) gen && $(PYTHON3) $(top_srcdir)/tools/gen.py $(top_srcdir)/datamodel/xenapi.json gen && touch $@
$(GEN_FILES): gen/stamp
BUILT_SOURCES += gen/stamp
CLEANFILES += $(GEN_FILES) gen/stamp
EXTRA_DIST += tools/gen.py tools/datamodel.py datamodel/xenapi.json api/methods.txt
# The API reference, generated from the datamodel's doc strings.
nodist_doc_DATA = gen/api-reference.md
