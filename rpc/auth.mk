# rpc/auth: PAM password checks for session.login_with_password.
# Users also need util/libxlog.la.
noinst_LTLIBRARIES += rpc/libxauth.la
rpc_libxauth_la_SOURCES = rpc/auth_pam.c rpc/auth_pam.h
# -lcrypt: ASan intercepts crypt_r but resolves the real one only at start-up,
# so pam_unix (dlopen'ed later) would call NULL unless libcrypt is already
# loaded.  gcc links with --as-needed except under -fsanitize, so normal
# builds do not gain the dependency.  (libcrypt-dev comes with libc6-dev.)
rpc_libxauth_la_LIBADD = $(PAM_LIBS) -lcrypt

check_PROGRAMS += tests/unit/pam_check
tests_unit_pam_check_SOURCES = tests/unit/pam_check.c
tests_unit_pam_check_LDADD = rpc/libxauth.la util/libxlog.la
TESTS += tests/unit/test_pam.sh
