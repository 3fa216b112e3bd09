# rpc/auth: PAM password checks for session.login_with_password.
# Users also need util/libxlog.la.
noinst_LTLIBRARIES += rpc/libxauth.la
rpc_libxauth_la_SOURCES = rpc/auth_pam.c rpc/auth_pam.h
rpc_libxauth_la_LIBADD = $(PAM_LIBS)

check_PROGRAMS += tests/unit/pam_check
tests_unit_pam_check_SOURCES = tests/unit/pam_check.c
tests_unit_pam_check_LDADD = rpc/libxauth.la util/libxlog.la
TESTS += tests/unit/test_pam.sh
