/*-------------------------------------------------------------------------
 *
 * bedrock_fdw.h
 *	  Declarations shared by the C files of bedrock_fdw, grouped by the
 *	  file that defines them.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/bedrock_fdw.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_FDW_H
#define BEDROCK_FDW_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/guc.h"
#include "utils/jsonb.h"

#include "compat.h"

#define BEDROCK_VERSION "0.4.0"

/* in guc.c */
extern char *bedrock_region;
extern char *bedrock_endpoint;
extern char *bedrock_control_endpoint;
extern char *bedrock_s3_endpoint;
extern char *bedrock_access_key_id;
extern char *bedrock_secret_access_key;
extern char *bedrock_session_token;
extern char *bedrock_ca_file;
extern int	bedrock_timeout_ms;
extern int	bedrock_connect_timeout_ms;
extern int	bedrock_max_response_bytes;
extern int	bedrock_max_attempts;
extern int	bedrock_max_concurrency;
extern int	bedrock_credential_source;
extern char *bedrock_role_arn;
extern char *bedrock_external_id;
extern char *bedrock_role_session_name;
extern int	bedrock_role_duration_seconds;
extern char *bedrock_imds_endpoint;
extern bool bedrock_imds_v1_fallback;
extern char *bedrock_sts_endpoint;
extern int	bedrock_credential_wait_ms;
extern char *bedrock_database;
extern int	bedrock_usage_queue_size;
extern int	bedrock_usage_flush_ms;
extern char *bedrock_usage_retention;
extern char *bedrock_rate_limits_setting;
extern bool bedrock_adaptive_rate_limiting;
extern double bedrock_interactive_reserve;
extern bool bedrock_secret_settings_trusted;
extern void bedrock_define_gucs(void);
extern char *bedrock_sts_base_url(void);
extern char *bedrock_runtime_base_url(void);
extern char *bedrock_control_base_url(void);
extern char *bedrock_s3_base_url(void);
/* the check hooks, also applied to the foreign server options (fdw_options.c) */
extern bool check_region(char **newval, void **extra, GucSource source);
extern bool check_endpoint(char **newval, void **extra, GucSource source);

/* in log_redact.c */
extern void log_redact_init(void);
extern void log_redact_remember(const char *value);
extern char *bedrock_redact_remote(const char *s);

/* in json_util.c */
extern Jsonb *json_parse_untrusted(const char *s, size_t len, const char **why);
extern Jsonb *json_parse_utf8(const char *s, size_t len);
extern Jsonb *json_text_to_jsonb(const char *json_text);
extern JsonbValue *json_get_key(JsonbContainer *container, const char *key,
								JsonbValue *result);
extern JsonbContainer *json_get_object(JsonbContainer *container,
									   const char *key);
extern JsonbContainer *json_get_array(JsonbContainer *container,
									  const char *key);
extern char *json_get_string(JsonbContainer *container, const char *key);
extern bool json_get_int64(JsonbContainer *container, const char *key,
						   int64 *result);
extern void json_append_string(StringInfo buf, const char *utf8_or_server);
extern void json_append_jsonb(StringInfo buf, JsonbContainer *container);
extern char *server_to_utf8(const char *s, int len);
extern char *utf8_to_server(const char *s, int len);
extern char *utf8_to_server_noerror(const char *s, int len);
extern void text_copy_clipped(char *dst, size_t dstsize, const char *s);

#endif							/* BEDROCK_FDW_H */
