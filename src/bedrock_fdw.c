/*-------------------------------------------------------------------------
 *
 * bedrock_fdw.c
 *	  Module entry point of bedrock_fdw: the magic block and _PG_init.
 *
 * The library works loaded on demand (CREATE EXTENSION, first call) and
 * preloaded through shared_preload_libraries; _PG_init only defines the
 * settings and initialises libcurl, so both ways behave the same.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/bedrock_fdw.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "bedrock_fdw.h"
#include "http.h"

BEDROCK_MODULE_MAGIC();

void		_PG_init(void);

/*
 * _PG_init
 *		Define the bedrock.* settings, keep their secrets out of the log, and
 *		initialise libcurl.
 */
void
_PG_init(void)
{
	bedrock_define_gucs();
	log_redact_init();
	http_init();
}
