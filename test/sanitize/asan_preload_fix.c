/*
 * asan_preload_fix.c
 *	  A preload shim that lets the uninstrumented PostgreSQL programs of
 *	  Debian 12 (postgres, initdb, psql, ...) run with the AddressSanitizer
 *	  runtime in LD_PRELOAD (test/sanitize/asan-check, test/fuzz/run-fuzz).
 *
 * Preloaded into a program that was not built with it, the ASan runtime
 * initialises itself lazily, on the first call it intercepts.  On Debian 12
 * that call is a malloc made by a library constructor while it holds a
 * glibc lock for writing: libgpg-error's bindtextdomain() holds the gettext
 * lock, libp11-kit's newlocale() the locale lock.  Part of ASan's
 * initialisation looks up the optional symbol swift_demangle with dlsym()
 * and then clears the failure with dlerror(), which translates the message:
 * dcgettext() takes those same locks for reading, fails with EDEADLK, and
 * releases them anyway.  The locks' reader counts are left at -1, and the
 * program's own next call (bindtextdomain() in set_pglocale_pgservice())
 * waits for ever.
 *
 * Defining swift_demangle here, in a library preloaded right after the ASan
 * runtime, makes that lookup succeed, so nothing is translated inside the
 * locks.  ASan then calls it when it symbolises a report; it answers "not a
 * Swift name", which is always true for us.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 */
#include <stddef.h>
#include <stdint.h>

char	   *swift_demangle(const char *mangled, size_t mangled_len, char *out,
						   size_t *out_len, uint32_t flags);

char *
swift_demangle(const char *mangled, size_t mangled_len, char *out,
			   size_t *out_len, uint32_t flags)
{
	return NULL;
}
