/*-------------------------------------------------------------------------
 *
 * usage_log_guard.h
 *	  The checks and least privilege of the usage writer's transactions
 *	  on bedrock.usage_log (usage_log_guard.c).
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/usage_log_guard.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_USAGE_LOG_GUARD_H
#define BEDROCK_USAGE_LOG_GUARD_H

#include "storage/lockdefs.h"

typedef struct UsageLogGuard
{
	Oid			owner;			/* the table's owner, whom the work runs as */
	Oid			saved_userid;
	int			saved_sec_context;
	int			nest_level;		/* GUC nesting level of the pinned path */
} UsageLogGuard;

extern char *usage_log_guard_enter(LOCKMODE lockmode, UsageLogGuard *guard);
extern void usage_log_guard_leave(UsageLogGuard *guard);
extern void usage_pin_search_path(void);

#endif							/* BEDROCK_USAGE_LOG_GUARD_H */
