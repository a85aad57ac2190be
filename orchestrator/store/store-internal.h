/*
 * store-internal.h: what the files of orchestrator/store share — the
 * connection and its lock, and three helpers every query goes through:
 * prepare-and-bind from a type string, run a write, and read rows as
 * jansson objects (column name -> value; columns named *_json are parsed
 * back into JSON). Not part of the public contract (store.h is).
 */
#ifndef TL_STORE_INTERNAL_H
#define TL_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "tssrlab/store.h"

/* Prepared statements are kept and reused: parsing the SQL again on
 * every call cost more than running it (the session grid runs a hundred
 * queries). Keyed by the address of the SQL text, which is always a
 * string literal. */
#define TL_STORE_STMT_CACHE 96

typedef struct tl_store_stmt {
	const char *sql;
	sqlite3_stmt *stmt;
	bool busy; /* handed out and not yet done */
} tl_store_stmt;

struct tl_store {
	sqlite3 *db;
	char *path;
	tl_store_stmt cache[TL_STORE_STMT_CACHE]; /* guarded by lock */
	uint64_t generation; /* bumped by every write; guarded by lock */
	size_t n_cache;
	/* Guards db and tx_depth. Recursive: a function called inside a
	 * transaction (tx_depth > 0) takes it again without deadlock. */
	pthread_mutex_t lock;
	int tx_depth; /* >0 while tl_store_tx_begin's transaction is open */
};

/* The migrations, in order: entry i brings the schema to version i+1. */
extern const char *const tl_store_migrations[];
extern const size_t tl_store_n_migrations;

/* Maps an SQLite result code to a tl_store_status and fills err with
 * "what: sqlite message" (a full disk is said in words). */
int tl_store_fail(tl_store *st, int rc, const char *what, tl_error *err);

/* Prepares sql and binds its parameters from types, one letter each:
 * 't' const char * (NULL binds NULL), 'i' int64_t, 'd' double, 'j' const
 * json_t * (bound as its compact text; NULL binds NULL). */
int tl_store_prepare(tl_store *st, sqlite3_stmt **ret, const char *sql,
		     const char *types, va_list ap, tl_error *err);
/* Gives a statement from tl_store_prepare back (reset for reuse when it
 * is cached, finalized otherwise). */
void tl_store_done(tl_store *st, sqlite3_stmt *s);
/* Runs a write statement; ret_changes (may be NULL) gets the number of
 * rows changed. The caller holds the lock. */
int tl_store_exec(tl_store *st, int *ret_changes, tl_error *err,
		  const char *sql, const char *types, ...);
/* Runs a query and returns its rows as a new array of objects. */
int tl_store_rows(tl_store *st, json_t **ret, tl_error *err, const char *sql,
		  const char *types, ...);
/* Like tl_store_rows but one row: NOTFOUND when there is none. */
int tl_store_row(tl_store *st, json_t **ret, tl_error *err, const char *sql,
		 const char *types, ...);

/* A transaction of its own unless one is already open: begin returns
 * whether it opened one; end commits (rc == 0) or rolls back. Both are
 * called with the lock held. */
int tl_store_own_begin(tl_store *st, bool *ret_own, tl_error *err);
int tl_store_own_end(tl_store *st, bool own, int rc, tl_error *err);

void tl_store_lock(tl_store *st);
void tl_store_unlock(tl_store *st);

#endif
