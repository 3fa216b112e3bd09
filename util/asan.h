/* asan.h: whether AddressSanitizer instruments this build (gcc says so with
 * __SANITIZE_ADDRESS__, clang with __has_feature), and its manual poisoning
 * for memory the project hands out itself (no-ops without ASan). */
#ifndef XEND_UTIL_ASAN_H
#define XEND_UTIL_ASAN_H

#if defined(__SANITIZE_ADDRESS__)
#define XEND_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XEND_ASAN 1
#endif
#endif

#ifdef XEND_ASAN
#include <sanitizer/asan_interface.h>
#define XEND_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define XEND_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define XEND_POISON(p, n) ((void)(p), (void)(n))
#define XEND_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#endif
