/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every difference between the PostgreSQL major versions we build
 *	  against (15 to 18) is bridged here, and only here.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_COMPAT_H
#define BEDROCK_COMPAT_H

#include "postgres.h"

#include "storage/latch.h"
#include "utils/resowner.h"

#if PG_VERSION_NUM < 150000
#error "bedrock_fdw requires PostgreSQL 15 or later"
#endif

/*
 * CreateWaitEventSet() took a MemoryContext up to PG16 and takes a
 * ResourceOwner from PG17 on.  We always want the set freed explicitly by
 * the caller, so pass the current context (PG15/16) or no owner (PG17+).
 */
#if PG_VERSION_NUM >= 170000
#define BedrockCreateWaitEventSet(nevents) CreateWaitEventSet(NULL, (nevents))
#else
#define BedrockCreateWaitEventSet(nevents) \
	CreateWaitEventSet(CurrentMemoryContext, (nevents))
#endif

/*
 * Custom wait events: PG17 lets an extension name its own, older releases
 * only have the generic PG_WAIT_EXTENSION.
 */
#if PG_VERSION_NUM >= 170000
#include "utils/wait_event.h"
#define BEDROCK_HAVE_NAMED_WAIT_EVENTS 1
#endif

/*
 * makeJsonLexContextCstringLen() gained a caller-supplied context argument
 * in PG17, and from then on the context must be freed.
 */
#include "common/jsonapi.h"
#if PG_VERSION_NUM >= 170000
#define BedrockMakeJsonLexContext(json, len, need_escapes) \
	makeJsonLexContextCstringLen(NULL, (json), (len), PG_UTF8, (need_escapes))
#define BedrockFreeJsonLexContext(lex) freeJsonLexContext(lex)
#else
#define BedrockMakeJsonLexContext(json, len, need_escapes) \
	makeJsonLexContextCstringLen((char *) (json), (len), PG_UTF8, (need_escapes))
#define BedrockFreeJsonLexContext(lex) ((void) (lex))
#endif

/* PG18 carries name and version in the module magic block. */
#if PG_VERSION_NUM >= 180000
#define BEDROCK_MODULE_MAGIC() PG_MODULE_MAGIC_EXT(.name = "bedrock_fdw", .version = BEDROCK_VERSION)
#else
#define BEDROCK_MODULE_MAGIC() PG_MODULE_MAGIC
#endif

/*
 * A check hook that rewrites a string setting must allocate the new value
 * the way guc.c frees it: plain malloc up to PG15, guc_malloc from PG16.
 */
#if PG_VERSION_NUM >= 160000
#include "utils/guc.h"
#define BedrockGucMalloc(size) guc_malloc(LOG, (size))
#define BedrockGucFree(ptr) guc_free(ptr)
#else
#define BedrockGucMalloc(size) malloc(size)
#define BedrockGucFree(ptr) free(ptr)
#endif

/*
 * PG16 replaced the ACL check of each object type (pg_foreign_server_aclcheck
 * and the like) with object_aclcheck() on the object's catalog.
 */
#include "utils/acl.h"
#if PG_VERSION_NUM >= 160000
#include "catalog/pg_foreign_server.h"
#define BedrockForeignServerAclcheck(serverid, roleid, mode) \
	object_aclcheck(ForeignServerRelationId, (serverid), (roleid), (mode))
#else
#define BedrockForeignServerAclcheck(serverid, roleid, mode) \
	pg_foreign_server_aclcheck((serverid), (roleid), (mode))
#endif

/*
 * create_foreignscan_path() gained fdw_restrictinfo in PG17 and
 * disabled_nodes in PG18.  Our scans have no pathkeys, no parameterisation,
 * no outer path, no restrictinfo of their own and are never disabled.
 */
#if PG_VERSION_NUM >= 180000
#define BedrockCreateForeignScanPath(root, rel, rows, startup, total, fdw_private) \
	create_foreignscan_path((root), (rel), NULL, (rows), 0, (startup), (total), \
							NIL, NULL, NULL, NIL, (fdw_private))
#elif PG_VERSION_NUM >= 170000
#define BedrockCreateForeignScanPath(root, rel, rows, startup, total, fdw_private) \
	create_foreignscan_path((root), (rel), NULL, (rows), (startup), (total), \
							NIL, NULL, NULL, NIL, (fdw_private))
#else
#define BedrockCreateForeignScanPath(root, rel, rows, startup, total, fdw_private) \
	create_foreignscan_path((root), (rel), NULL, (rows), (startup), (total), \
							NIL, NULL, NULL, (fdw_private))
#endif

/*
 * A function that never returns: PG18 replaced pg_attribute_noreturn(),
 * written after the declarator, with pg_noreturn, written before it.
 * GCC and Clang take the attribute before the declaration too.
 */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
#endif

/*
 * base64: PG18 made the binary side of pg_b64_encode() and pg_b64_decode()
 * uint8 (char before); through void * both take either.
 */
#include "common/base64.h"
#define BedrockB64Encode(src, len, dst, dstlen) \
	pg_b64_encode((const void *) (src), (len), (dst), (dstlen))
#define BedrockB64Decode(src, len, dst, dstlen) \
	pg_b64_decode((src), (len), (void *) (dst), (dstlen))

/* c.h defined Abs() up to PG16; PG17 removed it. */
#ifndef Abs
#define Abs(x) ((x) >= 0 ? (x) : -(x))
#endif

#endif							/* BEDROCK_COMPAT_H */
