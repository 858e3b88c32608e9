/*-------------------------------------------------------------------------
 *
 * http.c
 *	  The HTTP client of bedrock_fdw: libcurl's multi interface driven by
 *	  PostgreSQL's latch-aware wait.
 *
 * One CURLM lives for the whole backend, so its connection cache keeps
 * connections to Bedrock alive from one call to the next (and, for batches,
 * lets many transfers share them: over https, as streams of one HTTP/2
 * connection; see set_http_version).  Easy handles are pooled too.
 *
 * Waiting: curl tells us which sockets it wants through its socket callback
 * and when it next needs attention through its timer callback.  Each wait
 * builds a WaitEventSet of those sockets plus MyLatch, so a query cancel,
 * statement_timeout or termination wakes us immediately; after every wake
 * we CHECK_FOR_INTERRUPTS() and PostgreSQL raises its own error (57014 for
 * a cancel) or FATAL.
 *
 * Cleanup: everything curl allocates per transfer (the header slist, the
 * body buffer, the handle's place in the multi) is released either when
 * the caller collects the transfer or, when an ERROR interrupts it, by the
 * (sub)transaction abort callback, which aborts the transfers that the
 * failing (sub)transaction started.  Nothing in a curl callback ever
 * raises an ERROR: callbacks only record what happened and return.
 * Buffers written from callbacks are malloc'd, as libcurl's own are, and
 * copied into palloc'd memory when the transfer is collected.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/aws/http.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "access/xact.h"
#include "lib/ilist.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "bedrock_fdw.h"
#include "http.h"
#include "secret_wipe.h"

#define BEDROCK_USER_AGENT "bedrock_fdw/" BEDROCK_VERSION
#define MAX_IDLE_EASY_HANDLES 16
/* first size of the watched-socket array, which grows as curl asks */
#define INITIAL_WATCHED_SOCKETS 64
/* response headers we keep at most, in number and in bytes */
#define MAX_RESPONSE_HEADERS 256
#define MAX_RESPONSE_HEADER_BYTES (64 * 1024)
/* How long we sleep at most when curl has no timer pending. */
#define IDLE_WAIT_MS 1000

struct HttpTransfer
{
	dlist_node	node;			/* in active_transfers */
	CURL	   *easy;
	struct curl_slist *header_list;
	SubTransactionId subxact;	/* started by this (sub)transaction */
	void	   *arg;			/* caller's tag */
	bool		synchronous;	/* http_wait_for's: never handed out by
								 * http_wait_any */
	bool		done;
	CURLcode	result;
	bool		too_large;
	bool		headers_too_large;
	size_t		header_bytes;	/* kept so far, names and values */
	size_t		max_body;
	instr_time	started;

	/* response, written by curl callbacks: malloc'd */
	char	   *body;
	size_t		body_len;
	size_t		body_cap;
	int			nheaders;
	int			headers_cap;
	char	  **header_names;
	char	  **header_values;
	char		errbuf[CURL_ERROR_SIZE];
};

typedef struct WatchedSocket
{
	curl_socket_t fd;
	int			what;			/* CURL_POLL_IN / OUT / INOUT */
} WatchedSocket;

static CURLM *backend_multi = NULL;
static dlist_head active_transfers = DLIST_STATIC_INIT(active_transfers);
static CURL *idle_easy[MAX_IDLE_EASY_HANDLES];
static int	n_idle_easy = 0;
static WatchedSocket *watched = NULL;	/* malloc'd, grown by curl's asks */
static int	n_watched = 0;
static int	watched_cap = 0;
static long curl_timer_ms = -1; /* -1: no timer pending */
static instr_time curl_timer_set_at;
static bool callbacks_registered = false;
static uint32 http_wait_event = 0;

static void http_xact_callback(XactEvent event, void *arg);
static void http_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								  SubTransactionId parentSubid, void *arg);

/*
 * http_init
 *		Process-wide libcurl setup; called from _PG_init.
 */
void
http_init(void)
{
	CURLcode	rc = curl_global_init(CURL_GLOBAL_ALL);

	if (rc != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not initialize libcurl: %s", curl_easy_strerror(rc))));
}

/* ---- curl callbacks: record only, never ereport, never palloc ---- */

/* CURLMOPT_SOCKETFUNCTION: keep watched[] in step with curl's sockets. */
static int
socket_callback(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	int			i;

	for (i = 0; i < n_watched; i++)
	{
		if (watched[i].fd == fd)
			break;
	}
	if (what == CURL_POLL_REMOVE)
	{
		if (i < n_watched)
			watched[i] = watched[--n_watched];
		return 0;
	}
	if (i == n_watched)
	{
		if (n_watched == watched_cap)
		{
			int			newcap = watched_cap ? watched_cap * 2 : INITIAL_WATCHED_SOCKETS;
			WatchedSocket *nw = realloc(watched, newcap * sizeof(WatchedSocket));

			if (nw == NULL)
				return -1;		/* curl fails the transfer */
			watched = nw;
			watched_cap = newcap;
		}
		n_watched++;
	}
	watched[i].fd = fd;
	watched[i].what = what;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: remember when curl wants to be called back. */
static int
timer_callback(CURLM *multi, long timeout_ms, void *userp)
{
	curl_timer_ms = timeout_ms;
	INSTR_TIME_SET_CURRENT(curl_timer_set_at);
	return 0;
}

/* CURLOPT_WRITEFUNCTION: append to the malloc'd body, within the cap. */
static size_t
write_callback(char *data, size_t size, size_t nmemb, void *userp)
{
	HttpTransfer *t = (HttpTransfer *) userp;
	size_t		n = size * nmemb;

	if (t->body_len + n > t->max_body)
	{
		t->too_large = true;
		return 0;
	}
	if (t->body_len + n + 1 > t->body_cap)
	{
		size_t		newcap = Max(t->body_cap * 2, t->body_len + n + 1);
		char	   *nb;

		newcap = Max(newcap, 8192);
		/* grow with the body, never beyond what the cap lets through */
		newcap = Min(newcap, t->max_body + 1);
		nb = wipe_realloc(t->body, t->body_len, newcap);
		if (nb == NULL)
			return 0;
		t->body = nb;
		t->body_cap = newcap;
	}
	memcpy(t->body + t->body_len, data, n);
	t->body_len += n;
	t->body[t->body_len] = '\0';
	return n;
}

static void
free_response_headers(HttpTransfer *t)
{
	int			i;

	for (i = 0; i < t->nheaders; i++)
	{
		free(t->header_names[i]);
		free(t->header_values[i]);
	}
	t->nheaders = 0;
	t->header_bytes = 0;
}

/*
 * CURLOPT_HEADERFUNCTION: collect "Name: value" lines.  A status line
 * starts a new header block (after a 100 Continue, say), so it drops what
 * was collected before.
 */
static size_t
header_callback(char *data, size_t size, size_t nitems, void *userp)
{
	HttpTransfer *t = (HttpTransfer *) userp;
	size_t		n = size * nitems;
	size_t		len = n;
	char	   *colon;
	char	   *name;
	char	   *value;
	const char *v;
	size_t		vlen;

	while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n'))
		len--;
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
	{
		free_response_headers(t);
		return n;
	}
	colon = memchr(data, ':', len);
	if (colon == NULL || colon == data)
		return n;				/* blank line or junk: ignore */

	/* a hostile server's headers are bounded like its body: fail it */
	if (t->nheaders >= MAX_RESPONSE_HEADERS ||
		t->header_bytes + len > MAX_RESPONSE_HEADER_BYTES)
	{
		t->headers_too_large = true;
		return 0;
	}
	t->header_bytes += len;

	if (t->nheaders == t->headers_cap)
	{
		int			newcap = t->headers_cap ? t->headers_cap * 2 : 16;
		char	  **nn = realloc(t->header_names, newcap * sizeof(char *));
		char	  **nv;

		if (nn == NULL)
			return 0;
		t->header_names = nn;
		nv = realloc(t->header_values, newcap * sizeof(char *));
		if (nv == NULL)
			return 0;
		t->header_values = nv;
		t->headers_cap = newcap;
	}
	v = colon + 1;
	vlen = len - (v - data);
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	name = strndup(data, colon - data);
	value = strndup(v, vlen);
	if (name == NULL || value == NULL)
	{
		free(name);
		free(value);
		return 0;
	}
	t->header_names[t->nheaders] = name;
	t->header_values[t->nheaders] = value;
	t->nheaders++;
	return n;
}

/* ---- handle management ---- */

/*
 * get_multi
 *		The backend's multi handle, created on first use together with the
 *		transaction callbacks that clean up after an ERROR.
 */
static CURLM *
get_multi(void)
{
	if (backend_multi == NULL)
	{
		backend_multi = curl_multi_init();
		if (backend_multi == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not create a libcurl multi handle")));
		curl_multi_setopt(backend_multi, CURLMOPT_SOCKETFUNCTION, socket_callback);
		curl_multi_setopt(backend_multi, CURLMOPT_TIMERFUNCTION, timer_callback);
		curl_multi_setopt(backend_multi, CURLMOPT_MAXCONNECTS, 64L);
		curl_multi_setopt(backend_multi, CURLMOPT_PIPELINING, (long) CURLPIPE_MULTIPLEX);
	}
	if (!callbacks_registered)
	{
		RegisterXactCallback(http_xact_callback, NULL);
		RegisterSubXactCallback(http_subxact_callback, NULL);
		callbacks_registered = true;
	}
	if (http_wait_event == 0)
	{
#ifdef BEDROCK_HAVE_NAMED_WAIT_EVENTS
		http_wait_event = WaitEventExtensionNew("BedrockHttp");
#else
		http_wait_event = PG_WAIT_EXTENSION;
#endif
	}
	return backend_multi;
}

static CURL *
get_easy_handle(void)
{
	CURL	   *easy;

	if (n_idle_easy > 0)
		return idle_easy[--n_idle_easy];
	easy = curl_easy_init();
	if (easy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));
	return easy;
}

static void
release_easy_handle(CURL *easy)
{
	curl_easy_reset(easy);
	if (n_idle_easy < MAX_IDLE_EASY_HANDLES)
		idle_easy[n_idle_easy++] = easy;
	else
		curl_easy_cleanup(easy);
}

/*
 * transfer_release
 *		Take a transfer out of the multi and free everything it holds.
 *		Safe in abort callbacks: it never raises an ERROR.
 */
static void
transfer_release(HttpTransfer *t)
{
	if (backend_multi != NULL && t->easy != NULL)
		curl_multi_remove_handle(backend_multi, t->easy);
	if (t->easy != NULL)
		release_easy_handle(t->easy);
	wipe_curl_slist_free_all(t->header_list);
	free_response_headers(t);
	free(t->header_names);
	free(t->header_values);
	wipe_free(t->body, t->body_len);
	dlist_delete(&t->node);
	free(t);
}

/*
 * abort_transfers
 *		Release the transfers started by subxact or its children (all of
 *		them when subxact is InvalidSubTransactionId).
 */
static void
abort_transfers(SubTransactionId subxact)
{
	dlist_mutable_iter iter;

	dlist_foreach_modify(iter, &active_transfers)
	{
		HttpTransfer *t = dlist_container(HttpTransfer, node, iter.cur);

		if (subxact == InvalidSubTransactionId || t->subxact >= subxact)
			transfer_release(t);
	}
}

/*
 * http_abort_all
 *		Release every transfer in flight; for processes without
 *		transactions (the background worker) after an ERROR.
 */
void
http_abort_all(void)
{
	abort_transfers(InvalidSubTransactionId);
}

static void
http_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		abort_transfers(InvalidSubTransactionId);
}

static void
http_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		abort_transfers(mySubid);
}

#define SET_OPT(easy, opt, val) \
	do { \
		CURLcode setopt_rc_ = curl_easy_setopt((easy), (opt), (val)); \
		if (setopt_rc_ != CURLE_OK) \
			elog(ERROR, "curl_easy_setopt(%s) failed: %s", #opt, \
				 curl_easy_strerror(setopt_rc_)); \
	} while (0)

/*
 * set_http_version
 *		HTTP/2 where TLS negotiates it (ALPN), HTTP/1.1 otherwise; never h2c.
 *
 * Over https, CURLOPT_PIPEWAIT makes a transfer that finds the first
 * connection to the endpoint still being set up wait until its handshake
 * tells whether it multiplexes, instead of opening a connection of its
 * own: a batch's transfers, all started at once, then run as streams of
 * one HTTP/2 connection (and, when the server only speaks HTTP/1.1, go on
 * to open their own connections right after the handshake).  Over http
 * there is nothing to wait for, and curl would only learn the version from
 * the first response, so a batch opens its connections at once.
 *
 * A libcurl built without HTTP/2 refuses CURL_HTTP_VERSION_2TLS; it then
 * speaks HTTP/1.1, which is what it would do anyway.
 */
static void
set_http_version(CURL *e, const char *url)
{
	if (curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
						 (long) CURL_HTTP_VERSION_2TLS) != CURLE_OK)
		SET_OPT(e, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
	else if (pg_strncasecmp(url, "https://", 8) == 0)
		SET_OPT(e, CURLOPT_PIPEWAIT, 1L);
}

/*
 * configure_easy
 *		Apply the request and our fixed transport policy to an easy handle:
 *		http/https only, no redirects, TLS verification on, no signals,
 *		keep-alive (HTTP/2 multiplexing over https), bounded connect and
 *		total time.
 */
static void
configure_easy(HttpTransfer *t, const HttpRequest *req)
{
	CURL	   *e = t->easy;
	ListCell   *lc;

	SET_OPT(e, CURLOPT_PRIVATE, t);
	SET_OPT(e, CURLOPT_URL, req->url);
	SET_OPT(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET_OPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET_OPT(e, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET_OPT(e, CURLOPT_FOLLOWLOCATION, 0L);
	SET_OPT(e, CURLOPT_SSL_VERIFYPEER, 1L);
	SET_OPT(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (bedrock_ca_file != NULL && bedrock_ca_file[0] != '\0')
		SET_OPT(e, CURLOPT_CAINFO, bedrock_ca_file);
	set_http_version(e, req->url);
	SET_OPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
	SET_OPT(e, CURLOPT_TCP_NODELAY, 1L);
	SET_OPT(e, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	SET_OPT(e, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	SET_OPT(e, CURLOPT_USERAGENT, BEDROCK_USER_AGENT);
	SET_OPT(e, CURLOPT_ERRORBUFFER, t->errbuf);
	SET_OPT(e, CURLOPT_WRITEFUNCTION, write_callback);
	SET_OPT(e, CURLOPT_WRITEDATA, t);
	SET_OPT(e, CURLOPT_HEADERFUNCTION, header_callback);
	SET_OPT(e, CURLOPT_HEADERDATA, t);
	SET_OPT(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) req->max_response_bytes);

	if (strcmp(req->method, "GET") == 0)
		SET_OPT(e, CURLOPT_HTTPGET, 1L);
	else
	{
		SET_OPT(e, CURLOPT_POST, 1L);
		SET_OPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
		SET_OPT(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		if (strcmp(req->method, "POST") != 0)
			SET_OPT(e, CURLOPT_CUSTOMREQUEST, req->method);
	}

	/* curl must not add headers of its own that we did not sign */
	t->header_list = curl_slist_append(t->header_list, "Expect:");
	foreach(lc, req->headers)
	{
		struct curl_slist *nl = curl_slist_append(t->header_list, (char *) lfirst(lc));

		if (nl == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
		t->header_list = nl;
	}
	SET_OPT(e, CURLOPT_HTTPHEADER, t->header_list);
}

/*
 * http_transfer_start
 *		Start one request; it progresses whenever http_wait_any() runs.
 *		The request's body must stay valid until the transfer is collected.
 *		arg is returned by http_transfer_arg() so the caller can find its
 *		own state.
 */
HttpTransfer *
http_transfer_start(const HttpRequest *req, void *arg)
{
	CURLM	   *multi = get_multi();
	HttpTransfer *t;
	CURLMcode	mrc;

	t = calloc(1, sizeof(HttpTransfer));
	if (t == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	t->subxact = GetCurrentSubTransactionId();
	t->arg = arg;
	/* the body is copied into palloc'd memory at the end: MaxAllocSize */
	t->max_body = Min(req->max_response_bytes, MaxAllocSize - 1);
	dlist_push_tail(&active_transfers, &t->node);

	/* from here on an ERROR releases t through the abort callbacks */
	t->easy = get_easy_handle();
	configure_easy(t, req);
	INSTR_TIME_SET_CURRENT(t->started);
	mrc = curl_multi_add_handle(multi, t->easy);
	if (mrc != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not start an HTTP transfer: %s", curl_multi_strerror(mrc))));
	return t;
}

void *
http_transfer_arg(HttpTransfer *transfer)
{
	return transfer->arg;
}

/*
 * collect_finished
 *		Mark the transfers curl reports as finished; return the first
 *		finished transfer that http_wait_any may hand out (not one a
 *		synchronous waiter waits for), or NULL.  A finished transfer stays
 *		in active_transfers, done, until its owner collects it with
 *		http_transfer_finish: whoever happens to be waiting when curl
 *		reports it, a transfer is never lost.
 */
static HttpTransfer *
collect_finished(void)
{
	CURLMsg    *msg;
	int			remaining;
	dlist_iter	iter;

	while ((msg = curl_multi_info_read(backend_multi, &remaining)) != NULL)
	{
		HttpTransfer *t = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t);
		if (t != NULL)
		{
			t->done = true;
			t->result = msg->data.result;
		}
	}
	dlist_foreach(iter, &active_transfers)
	{
		HttpTransfer *t = dlist_container(HttpTransfer, node, iter.cur);

		if (t->done && !t->synchronous)
			return t;
	}
	return NULL;
}

/*
 * http_transfers_pending
 *		The transfers http_wait_any can hand out: started with
 *		http_transfer_start, not collected yet (finished or not), and not
 *		waited for by http_wait_for.  A scheduler that counts its own
 *		transfers checks its count against this one.
 */
int
http_transfers_pending(void)
{
	dlist_iter	iter;
	int			n = 0;

	dlist_foreach(iter, &active_transfers)
	{
		HttpTransfer *t = dlist_container(HttpTransfer, node, iter.cur);

		if (!t->synchronous)
			n++;
	}
	return n;
}

/* milliseconds until curl's timer fires: -1 none, 0 due */
static long
curl_timer_remaining(void)
{
	instr_time	now;
	long		elapsed;

	if (curl_timer_ms < 0)
		return -1;
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, curl_timer_set_at);
	elapsed = (long) INSTR_TIME_GET_MILLISEC(now);
	return elapsed >= curl_timer_ms ? 0 : curl_timer_ms - elapsed;
}

static void
socket_action(curl_socket_t fd, int flags)
{
	int			running;
	CURLMcode	mrc;

	mrc = curl_multi_socket_action(backend_multi, fd, flags, &running);
	if (mrc != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("HTTP transfer failed: %s", curl_multi_strerror(mrc))));
}

/*
 * wait_for_activity
 *		Sleep until one of curl's sockets is ready, curl's timer is due, our
 *		latch is set or max_wait_ms (-1: no limit) has passed, then let curl
 *		do its work.  Interrupts are
 *		processed (and may raise ERROR) after every wake-up.
 */
static void
wait_for_activity(long max_wait_ms)
{
	int			nevents = n_watched + 2;
	WaitEvent  *events = palloc(sizeof(WaitEvent) * nevents);
	WaitEventSet *volatile set = NULL;
	volatile int nready = 0;
	long		timeout = curl_timer_remaining();
	bool		timer_due;
	int			i;

	if (timeout < 0 || timeout > IDLE_WAIT_MS)
		timeout = IDLE_WAIT_MS;
	if (max_wait_ms >= 0 && timeout > max_wait_ms)
		timeout = max_wait_ms;

	/* a zero timeout still polls the sockets once, without sleeping */
	PG_TRY();
	{
		set = BedrockCreateWaitEventSet(nevents);
		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		for (i = 0; i < n_watched; i++)
		{
			uint32		ev = 0;

			if (watched[i].what & CURL_POLL_IN)
				ev |= WL_SOCKET_READABLE;
			if (watched[i].what & CURL_POLL_OUT)
				ev |= WL_SOCKET_WRITEABLE;
			AddWaitEventToSet(set, ev, watched[i].fd, NULL, NULL);
		}
		nready = WaitEventSetWait(set, timeout, events, nevents,
								  http_wait_event);
	}
	PG_FINALLY();
	{
		if (set != NULL)
			FreeWaitEventSet(set);
	}
	PG_END_TRY();

	for (i = 0; i < nready; i++)
	{
		int			flags = 0;

		if (events[i].events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			continue;
		}
		if (events[i].events & WL_SOCKET_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events[i].events & WL_SOCKET_WRITEABLE)
			flags |= CURL_CSELECT_OUT;
		if (flags != 0)
			socket_action(events[i].fd, flags);
	}

	pfree(events);

	timer_due = curl_timer_remaining() == 0;
	if (timer_due)
	{
		curl_timer_ms = -1;
		socket_action(CURL_SOCKET_TIMEOUT, 0);
	}

	CHECK_FOR_INTERRUPTS();
}

/*
 * http_wait_any
 *		Drive every transfer in flight until one started by
 *		http_transfer_start has finished and return it (collect it with
 *		http_transfer_finish).  NULL when none is pending
 *		(http_transfers_pending() is 0), or when timeout_ms (-1: no limit)
 *		passed first.  Interrupts are checked on every call, whatever it
 *		returns, and even with a timeout of 0 the transfers are driven
 *		once, so a caller that polls in a loop makes progress and can be
 *		cancelled.
 */
HttpTransfer *
http_wait_any(long timeout_ms)
{
	HttpTransfer *t;
	instr_time	start;
	bool		driven = false;

	CHECK_FOR_INTERRUPTS();
	if (backend_multi == NULL)
		return NULL;
	INSTR_TIME_SET_CURRENT(start);
	for (;;)
	{
		long		left = -1;

		t = collect_finished();
		if (t != NULL)
			return t;
		if (http_transfers_pending() == 0)
			return NULL;
		if (timeout_ms >= 0)
		{
			instr_time	now;

			INSTR_TIME_SET_CURRENT(now);
			INSTR_TIME_SUBTRACT(now, start);
			left = timeout_ms - (long) INSTR_TIME_GET_MILLISEC(now);
			if (left <= 0)
			{
				if (driven)
					return NULL;
				left = 0;
			}
		}
		wait_for_activity(left);
		driven = true;
	}
}

/*
 * classify_failure
 *		Map curl's result code to the transport outcomes that get their own
 *		SQLSTATE.
 */
static HttpOutcome
classify_failure(HttpTransfer *t)
{
	if (t->too_large)
		return HTTP_FAILED_TOO_LARGE;
	if (t->headers_too_large)
		return HTTP_FAILED_OTHER;
	switch (t->result)
	{
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
			return HTTP_FAILED_DNS;
		case CURLE_COULDNT_CONNECT:
			return HTTP_FAILED_CONNECT;
		case CURLE_OPERATION_TIMEDOUT:
			return HTTP_FAILED_TIMEOUT;
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_SSL_INVALIDCERTSTATUS:
		case CURLE_SSL_ENGINE_INITFAILED:
		case CURLE_SSL_ENGINE_NOTFOUND:
		case CURLE_SSL_ENGINE_SETFAILED:
		case CURLE_USE_SSL_FAILED:
			return HTTP_FAILED_TLS;
		case CURLE_FILESIZE_EXCEEDED:
			return HTTP_FAILED_TOO_LARGE;
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
		case CURLE_WEIRD_SERVER_REPLY:
			return HTTP_FAILED_CONNECTION_LOST;
		default:
			return HTTP_FAILED_OTHER;
	}
}

/*
 * http_transfer_finish
 *		Copy a finished transfer's response into palloc'd memory in the
 *		current context and release the transfer.
 */
void
http_transfer_finish(HttpTransfer *t, HttpResponse *resp)
{
	instr_time	now;
	long		num_connects = 0;
	int			i;

	Assert(t->done);
	memset(resp, 0, sizeof(*resp));
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, t->started);
	resp->elapsed_ms = INSTR_TIME_GET_MILLISEC(now);
	curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &num_connects);
	resp->new_connection = num_connects > 0;

	if (t->result == CURLE_OK && !t->too_large)
	{
		resp->outcome = HTTP_RESPONSE_RECEIVED;
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &resp->status);
	}
	else
	{
		resp->outcome = classify_failure(t);
		if (t->headers_too_large)
			resp->transport_error =
				psprintf("the response headers exceed %d fields or %d bytes",
						 MAX_RESPONSE_HEADERS, MAX_RESPONSE_HEADER_BYTES);
		else
			resp->transport_error = pstrdup(t->errbuf[0] ? t->errbuf
											: curl_easy_strerror(t->result));
	}

	resp->body_len = t->body_len;
	resp->body = palloc(t->body_len + 1);
	if (t->body_len > 0)
		memcpy(resp->body, t->body, t->body_len);
	resp->body[t->body_len] = '\0';

	for (i = 0; i < t->nheaders; i++)
	{
		HttpHeaderField *h = palloc(sizeof(HttpHeaderField));

		h->name = pstrdup(t->header_names[i]);
		h->value = pstrdup(t->header_values[i]);
		resp->headers = lappend(resp->headers, h);
	}
	transfer_release(t);
}

/*
 * http_wait_for
 *		Drive every transfer in flight until this one has finished; then
 *		collect it with http_transfer_finish.
 *
 * Other transfers may be in flight: a credential refresh over HTTP in
 * the middle of a batch waits here while the batch's transfers go on.
 * Those that finish meanwhile stay where they are, done, for
 * http_wait_any to hand to their owner; mine is never handed out there.
 * Interrupts are checked after every wake-up.
 */
void
http_wait_for(HttpTransfer *mine)
{
	mine->synchronous = true;
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		(void) collect_finished();
		if (mine->done)
			return;
		wait_for_activity(-1);
	}
}

/*
 * http_execute
 *		Run one request to completion.  Transport failures are reported in
 *		resp->outcome, not raised; interrupts raise as usual.
 */
void
http_execute(const HttpRequest *req, HttpResponse *resp)
{
	HttpTransfer *mine = http_transfer_start(req, NULL);

	http_wait_for(mine);
	http_transfer_finish(mine, resp);
}

/*
 * http_response_header
 *		Value of the first response header with this name (any case), or
 *		NULL.  Every header we read (request id, error type, content type,
 *		retry and token lifetimes) is printable ASCII; a value with any other
 *		byte counts as absent, so that callers can copy it into text (usage
 *		rows, errors, results) without checking its encoding.
 */
const char *
http_response_header(const HttpResponse *resp, const char *name)
{
	ListCell   *lc;

	foreach(lc, resp->headers)
	{
		HttpHeaderField *h = lfirst(lc);

		if (pg_strcasecmp(h->name, name) == 0)
		{
			for (const char *p = h->value; *p; p++)
			{
				if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
					return NULL;
			}
			return h->value;
		}
	}
	return NULL;
}

/*
 * http_sleep_ms
 *		Sleep (between retries), waking at once for interrupts, which are
 *		checked even when ms is 0 or less.
 */
void
http_sleep_ms(long ms)
{
	instr_time	start;

	CHECK_FOR_INTERRUPTS();
	INSTR_TIME_SET_CURRENT(start);
	for (;;)
	{
		instr_time	now;
		long		left;

		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, start);
		left = ms - (long) INSTR_TIME_GET_MILLISEC(now);
		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 left, http_wait_event ? http_wait_event : PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}
