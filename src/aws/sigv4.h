/*-------------------------------------------------------------------------
 *
 * sigv4.h
 *	  AWS Signature Version 4 (header signing) on OpenSSL.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/aws/sigv4.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_SIGV4_H
#define BEDROCK_SIGV4_H

#include "nodes/pg_list.h"
#include "pgtime.h"

#define SIGV4_AMZ_DATE_LEN	16		/* YYYYMMDDTHHMMSSZ */
#define SIGV4_HEX_LEN		64		/* hex SHA-256 / HMAC-SHA256 */

/* One request header handed to the signer; names may repeat. */
typedef struct SigV4Header
{
	const char *name;			/* any case; the signer lower-cases it */
	const char *value;			/* as sent; the signer trims and folds */
} SigV4Header;

/* The request to sign, exactly as it will go on the wire. */
typedef struct SigV4Request
{
	const char *method;			/* "GET", "POST", ... */
	const char *path;			/* wire path (already percent-encoded once) */
	const char *query;			/* raw query string without '?', or NULL */
	List	   *headers;		/* of SigV4Header *; must include Host */
	const char *payload;		/* body bytes, may be NULL when empty */
	size_t		payload_len;
} SigV4Request;

/* Who signs, for what, when, and how the path is canonicalised. */
typedef struct SigV4Params
{
	const char *region;
	const char *service;
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;	/* NULL or "" when not temporary */
	pg_time_t	signing_time;	/* seconds since the Unix epoch, UTC */
	bool		normalize_path; /* remove dot segments, collapse '//' */
	bool		double_encode_path; /* encode the wire path once more */
} SigV4Params;

/* Everything the signer produced; strings are palloc'd. */
typedef struct SigV4Result
{
	char		amz_date[SIGV4_AMZ_DATE_LEN + 1];
	char		signature[SIGV4_HEX_LEN + 1];
	char	   *authorization;	/* value of the Authorization header */
	char	   *canonical_request;
	char	   *string_to_sign;
	char	   *signed_headers;
	char	   *payload_hash;
} SigV4Result;

/* in sigv4.c */
extern void sigv4_sign(const SigV4Request *req, const SigV4Params *params,
					   SigV4Result *result);
extern void sigv4_result_wipe(SigV4Result *result);
extern void sigv4_sha256_hex(const char *data, size_t len,
							 char out[SIGV4_HEX_LEN + 1]);
extern char *sigv4_uri_encode(const char *s, size_t len, bool keep_slash);
extern SigV4Header *sigv4_header(const char *name, const char *value);

#endif							/* BEDROCK_SIGV4_H */
