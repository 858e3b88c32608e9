/*
 * asan_early_init.c
 *	  A preload shim that lets an uninstrumented PostgreSQL run with the
 *	  AddressSanitizer runtime in LD_PRELOAD (test/sanitize/asan-check,
 *	  test/fuzz/run-fuzz).
 *
 * Preloaded into a program that does not contain it, the ASan runtime
 * initialises itself lazily, on the first call it intercepts.  On Debian 12
 * that first call is a malloc made by libgpg-error's constructor from inside
 * bindtextdomain(), which holds glibc's gettext lock for writing; ASan's
 * initialisation then looks up a message (dcgettext takes the same lock for
 * reading, fails with EDEADLK, and releases it anyway), leaving the lock's
 * reader count at -1, and the server's own bindtextdomain() call later
 * waits for ever.  This shim is preloaded right after the ASan runtime and
 * takes bindtextdomain() over: it makes one allocation, so that ASan is
 * initialised before any lock is held, and then calls glibc's function.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

typedef char *(*bindtextdomain_fn) (const char *domainname, const char *dirname);

char	   *bindtextdomain(const char *domainname, const char *dirname);

char *
bindtextdomain(const char *domainname, const char *dirname)
{
	static bindtextdomain_fn real;

	if (real == NULL)
	{
		/* any intercepted call initialises ASan; do it while no lock is held */
		void	   *volatile p = malloc(1);	/* volatile: not optimised away */

		free(p);
		real = (bindtextdomain_fn) dlsym(RTLD_NEXT, "bindtextdomain");
		if (real == NULL)
			abort();
	}
	return real(domainname, dirname);
}
