/*
 * events.c: the live event stream (Server-Sent Events) behind
 * GET /api/v1/events. Each subscriber is an HTTP response produced by a
 * content-reader callback; with nothing to send, the callback suspends its
 * connection (libmicrohttpd's prescribed pattern, so no pool thread is
 * held and nothing busy-loops) and a publisher resumes it. Each
 * subscriber's queue is capped: a client too slow to drain it is cut off
 * rather than allowed to grow the daemon's memory. A trainee's stream
 * carries only events about their own instance.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

#include "events-internal.h"

#define QUEUE_CAP (256u << 10)

typedef struct sse_client {
	tl_events *hub;
	struct MHD_Connection *conn;
	char session[64]; /* "" = every session (staff) */
	int64_t instance; /* 0 = every instance of the session */
	tl_buf queue;	  /* bytes not yet handed to MHD */
	bool suspended;	  /* we suspended conn and nobody resumed it yet */
	bool closed;	  /* end the stream at the next read */
	struct sse_client *next;
} sse_client;

/* One lock guards the list and every client's fields. */
struct tl_events {
	pthread_mutex_t lock;
	sse_client *head;
	size_t n;
	bool closing;
};

tl_events *tl_events_new(void)
{
	tl_events *ev = tl_xcalloc(1, sizeof *ev);
	pthread_mutex_init(&ev->lock, NULL);
	return ev;
}

static void wake(sse_client *c)
{
	if (c->suspended) {
		c->suspended = false;
		MHD_resume_connection(c->conn);
	}
}

void tl_events_close(tl_events *ev)
{
	pthread_mutex_lock(&ev->lock);
	ev->closing = true;
	for (sse_client *c = ev->head; c; c = c->next) {
		c->closed = true;
		wake(c);
	}
	pthread_mutex_unlock(&ev->lock);
}

void tl_events_free(tl_events *ev)
{
	if (!ev)
		return;
	pthread_mutex_destroy(&ev->lock);
	free(ev);
}

size_t tl_events_clients(tl_events *ev)
{
	pthread_mutex_lock(&ev->lock);
	size_t n = ev->n;
	pthread_mutex_unlock(&ev->lock);
	return n;
}

static void enqueue(sse_client *c, const char *text, size_t len)
{
	if (c->closed)
		return;
	if (tl_buf_append(&c->queue, text, len) < 0)
		c->closed = true; /* too slow: cut it off */
	wake(c);
}

void tl_events_publish(tl_events *ev, const char *session, int64_t instance,
		       const char *type, json_t *data)
{
	if (!data)
		data = json_object();
	json_object_set_new(data, "session", json_string(session));
	if (instance)
		json_object_set_new(data, "instance", json_integer(instance));
	char *text = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	if (!text)
		return;
	char *msg = tl_xasprintf("event: %s\ndata: %s\n\n", type, text);
	free(text);
	size_t len = strlen(msg);
	pthread_mutex_lock(&ev->lock);
	for (sse_client *c = ev->head; c; c = c->next) {
		if (c->session[0] && strcmp(c->session, session))
			continue;
		if (c->instance && c->instance != instance)
			continue;
		enqueue(c, msg, len);
	}
	pthread_mutex_unlock(&ev->lock);
	free(msg);
}

void tl_events_heartbeat(tl_events *ev)
{
	static const char ping[] = ": keepalive\n\n";
	pthread_mutex_lock(&ev->lock);
	for (sse_client *c = ev->head; c; c = c->next)
		enqueue(c, ping, sizeof ping - 1);
	pthread_mutex_unlock(&ev->lock);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	sse_client *c = cls;
	tl_events *ev = c->hub;
	pthread_mutex_lock(&ev->lock);
	if (c->queue.len > 0) {
		size_t n = c->queue.len < max ? c->queue.len : max;
		memcpy(buf, c->queue.data, n);
		memmove(c->queue.data, c->queue.data + n, c->queue.len - n);
		c->queue.len -= n;
		c->queue.data[c->queue.len] = '\0';
		pthread_mutex_unlock(&ev->lock);
		return (ssize_t)n;
	}
	if (c->closed) {
		pthread_mutex_unlock(&ev->lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	c->suspended = true;
	MHD_suspend_connection(c->conn);
	pthread_mutex_unlock(&ev->lock);
	return 0;
}

static void release(void *cls)
{
	sse_client *c = cls;
	tl_events *ev = c->hub;
	pthread_mutex_lock(&ev->lock);
	for (sse_client **p = &ev->head; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			ev->n--;
			break;
		}
	pthread_mutex_unlock(&ev->lock);
	tl_buf_clear(&c->queue);
	free(c);
}

struct MHD_Response *tl_events_subscribe(tl_events *ev,
					 struct MHD_Connection *conn,
					 const char *session, int64_t instance)
{
	sse_client *c = tl_xcalloc(1, sizeof *c);
	c->hub = ev;
	c->conn = conn;
	snprintf(c->session, sizeof c->session, "%s", session ? session : "");
	c->instance = instance;
	tl_buf_init(&c->queue, QUEUE_CAP);
	/* a first comment so that clients see the stream is open */
	tl_buf_puts(&c->queue, ": tssrlabd events\nretry: 3000\n\n");
	struct MHD_Response *r = MHD_create_response_from_callback(
	    MHD_SIZE_UNKNOWN, 4096, reader, c, release);
	if (!r) {
		tl_buf_clear(&c->queue);
		free(c);
		return NULL;
	}
	pthread_mutex_lock(&ev->lock);
	if (ev->closing)
		c->closed = true;
	c->next = ev->head;
	ev->head = c;
	ev->n++;
	pthread_mutex_unlock(&ev->lock);
	return r;
}
