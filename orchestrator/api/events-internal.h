/*
 * events-internal.h: the part of the event hub that speaks
 * libmicrohttpd, for http.c only.
 */
#ifndef TL_EVENTS_INTERNAL_H
#define TL_EVENTS_INTERNAL_H

#include <microhttpd.h>

#include "tssrlabd.h"

/* A streaming response for one subscriber (NULL on failure); the hub
 * forgets the subscriber when the response is destroyed. */
struct MHD_Response *tl_events_subscribe(tl_events *ev,
					 struct MHD_Connection *conn,
					 const char *session, int64_t instance);

#endif
