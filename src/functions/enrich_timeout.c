/*-------------------------------------------------------------------------
 *
 * enrich_timeout.c
 *	  statement_timeout per chunk of bedrock_enrich.
 *
 * PostgreSQL arms the statement timer once per top-level statement: a
 * CALL of bedrock_enrich that commits chunk after chunk is one statement,
 * so a server-wide statement_timeout would end a long enrichment after its
 * first chunks however fast each chunk is.  The procedure calls
 * bedrock.enrich_restart_statement_timeout() after each committed chunk,
 * so that the timeout bounds one chunk.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/functions/enrich_timeout.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "storage/proc.h"
#include "utils/timeout.h"

PG_FUNCTION_INFO_V1(bedrock_enrich_restart_statement_timeout);

/*
 * bedrock_enrich_restart_statement_timeout
 *		Restart the statement timer at the caller's statement_timeout, if
 *		it is running: a timer the statement did not start (timeout 0 when
 *		it began) is left alone.  Returns void.
 */
Datum
bedrock_enrich_restart_statement_timeout(PG_FUNCTION_ARGS)
{
	if (StatementTimeout > 0 && get_timeout_active(STATEMENT_TIMEOUT))
		enable_timeout_after(STATEMENT_TIMEOUT, StatementTimeout);
	PG_RETURN_VOID();
}
