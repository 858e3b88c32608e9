/*-------------------------------------------------------------------------
 *
 * catalog_endpoint.c
 *	  Where a scan of a Bedrock catalog foreign table sends its requests
 *	  (region, control-plane URL) and with which credentials, from the
 *	  foreign server's options and the bedrock.* settings.
 *
 * The identity is the user mapping's, as for every other call through the
 * server.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/fdw/catalog_endpoint.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/defrem.h"
#include "foreign/foreign.h"

#include "bedrock_fdw.h"
#include "bedrock_target.h"
#include "catalog_fdw.h"

/*
 * catalog_endpoint_for
 *		The region, control-plane base URL and credentials for a scan through
 *		server serverid by role userid, palloc'd in the current context: the
 *		wrapper's target (bedrock_target_lookup checks USAGE on the server
 *		and finds the role's user mapping), whose options fall back to the
 *		bedrock.* settings.  The caller wipes the credentials when done.
 */
void
catalog_endpoint_for(Oid serverid, Oid userid, CatalogEndpoint *out)
{
	ForeignServer *server = GetForeignServer(serverid);
	BedrockTarget *target = bedrock_target_lookup(server->servername, userid);
	AwsCredentials *creds = palloc0(sizeof(AwsCredentials));

	out->region = target->region;
	out->base_url = target->control_url;
	bedrock_target_credentials(target, creds);
	out->credentials = creds;
}
