/*
 * api.h: the parts of tssrlabd's HTTP/JSON API (orchestrator/api/) that
 * other code uses directly: the request-body validator and the schemas of
 * the bodies the API accepts. The server itself is internal to the daemon.
 *
 * Every body the API accepts is checked before any handler sees it: a
 * size cap (checked by the server before parsing), a nesting-depth cap,
 * well-formed JSON (duplicate keys refused), an object at the top, the
 * type and range of each field, required fields present, and no field the
 * schema does not know. The first problem is reported with the path of
 * the field ("trainees[2].id") so a client can show it next to the input.
 */
#ifndef TSSRLAB_API_H
#define TSSRLAB_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "tssrlab/base.h"

#define TL_API_PREFIX	 "/api/v1"
#define TL_API_MAX_DEPTH 16 /* JSON nesting accepted in a body */

typedef enum {
	TL_API_STRING, /* min..max = length in bytes; UTF-8 checked by jansson
			*/
	TL_API_SLUG,   /* [a-z0-9][a-z0-9._-]*, length min..max */
	TL_API_INT,    /* min..max = value */
	TL_API_NUMBER, /* int or real, min..max = value */
	TL_API_BOOL,
	TL_API_ARRAY, /* min..max = item count; items by item_type/items */
} tl_api_type;

struct tl_api_schema;

typedef struct tl_api_field {
	const char *name;
	tl_api_type type;
	bool required;
	double min, max;
	tl_api_type item_type;		   /* TL_API_ARRAY: type of items */
	const struct tl_api_schema *items; /* items that are objects */
} tl_api_field;

typedef struct tl_api_schema {
	const char *name;	    /* "session create" (messages, fuzzer) */
	const tl_api_field *fields; /* terminated by a NULL name */
} tl_api_schema;

typedef struct tl_api_error {
	int status;	 /* 400, 413 or 422 */
	char msg[256];	 /* what is wrong, for a person */
	char field[128]; /* the field's path, "" for the whole body */
} tl_api_error;

/* Parses and validates a request body against schema. An empty body is
 * accepted as {} (then required fields are missing). On success *ret is a
 * new reference to the object; on failure returns -1 and fills err. */
int tl_api_body_parse(const char *data, size_t len, const tl_api_schema *schema,
		      json_t **ret, tl_api_error *err);

/* The schemas of the bodies the API takes, and a NULL-terminated list of
 * them all (the fuzzer runs every one). */
extern const tl_api_schema tl_api_schema_session_create;
extern const tl_api_schema tl_api_schema_session_extend;
extern const tl_api_schema tl_api_schema_empty;
extern const tl_api_schema tl_api_schema_grade;
extern const tl_api_schema tl_api_schema_manual;
extern const tl_api_schema tl_api_schema_token;
extern const tl_api_schema tl_api_schema_solution;
extern const tl_api_schema *const tl_api_schemas[];

/* Is s a valid slug (session, trainee, machine, criterion ids)? */
bool tl_api_slug_ok(const char *s, size_t max);

#endif
