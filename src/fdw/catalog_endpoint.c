/*-------------------------------------------------------------------------
 *
 * catalog_endpoint.c
 *	  Where a scan of a Bedrock catalog foreign table sends its requests
 *	  (region, control-plane URL) and with which credentials, from the
 *	  foreign server's options and the bedrock.* settings.
 *
 * This is the one place that decides it, so that the per-role identities
 * of the wrapper (user mappings) plug in here.
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
#include "catalog_fdw.h"

/*
 * catalog_endpoint_for
 *		The region, control-plane base URL and credentials for a scan through
 *		server serverid by role userid, palloc'd in the current context.
 *		The server's region and control_endpoint options win over
 *		bedrock.region and bedrock.control_endpoint; an option the server
 *		does not set falls back to the setting, and with neither endpoint
 *		the request goes to the region's AWS endpoint.  Credentials: NULL,
 *		the configured chain (the shared cache).
 */
void
catalog_endpoint_for(Oid serverid, Oid userid, CatalogEndpoint *out)
{
	ForeignServer *server = GetForeignServer(serverid);
	char	   *region = NULL;
	char	   *endpoint = NULL;
	ListCell   *lc;

	foreach(lc, server->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "region") == 0)
			region = defGetString(def);
		else if (strcmp(def->defname, "control_endpoint") == 0)
			endpoint = defGetString(def);
	}

	out->region = pstrdup(region != NULL && region[0] != '\0' ? region : bedrock_region);
	if (endpoint != NULL && endpoint[0] != '\0')
	{
		size_t		len = strlen(endpoint);

		while (len > 0 && endpoint[len - 1] == '/')
			len--;
		out->base_url = pnstrdup(endpoint, len);
	}
	else if (bedrock_control_endpoint != NULL && bedrock_control_endpoint[0] != '\0')
		out->base_url = bedrock_control_base_url();
	else
		out->base_url = psprintf("https://bedrock.%s.amazonaws.com", out->region);
	out->credentials = NULL;
}
