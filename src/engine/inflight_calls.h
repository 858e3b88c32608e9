/*-------------------------------------------------------------------------
 *
 * inflight_calls.h
 *	  The Bedrock calls this process has under way, so that a call cut off
 *	  by the process's exit (pg_terminate_backend, shutdown) still leaves
 *	  a usage record.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/inflight_calls.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_INFLIGHT_CALLS_H
#define BEDROCK_INFLIGHT_CALLS_H

#include "runtime.h"
#include "usage.h"

/* The error_code of the record of a call cut off by the process's exit. */
#define INFLIGHT_TERMINATED_CODE "Terminated"

/* in inflight_calls.c */
extern void inflight_call_begin(const BedrockCall *call, UsageRecord *usage);
extern void inflight_call_end(const UsageRecord *usage);

#endif							/* BEDROCK_INFLIGHT_CALLS_H */
